// Shotcut UI for the Mattebox Key frei0r filter. Property names are the
// frei0r parameter names, which MLT accepts as well as indices.
import QtQuick
import QtQuick.Controls
import QtQuick.Dialogs
import QtQuick.Layouts
import Shotcut.Controls as Shotcut

Item {
    width: 350
    height: 360

    Component.onCompleted: {
        if (filter.isNew) {
            filter.set("screen", 0);
            filter.set("clip black", 0);
            filter.set("clip white", 1);
            filter.set("spill", 0.8);
            filter.set("grow", 0.5);
            filter.set("soften", 0);
            filter.set("fill holes", 0);
            filter.set("match colour", 0);
            filter.set("light wrap", 0);
            filter.set("output", 0);
            filter.set("background", "");
            filter.set("background colour", "#000000");
            filter.set("person", 0);
            filter.set("keep person", 0);
        }
        setControls();
    }

    function setControls() {
        screenCombo.currentIndex = filter.getDouble("person") > 0.5 ? 3 : Math.round(filter.getDouble("screen") * 2);
        clipBlack.value = filter.getDouble("clip black") * 100;
        clipWhite.value = filter.getDouble("clip white") * 100;
        spill.value = filter.getDouble("spill") * 100;
        grow.value = (filter.getDouble("grow") - 0.5) * 20;
        soften.value = filter.getDouble("soften") * 20;
        fillHoles.checked = filter.getDouble("fill holes") > 0.5;
        keepPerson.checked = filter.getDouble("keep person") > 0.5;
        keepPerson.enabled = screenCombo.currentIndex < 3;
        matchColour.value = filter.getDouble("match colour") * 100;
        lightWrap.value = filter.getDouble("light wrap") * 100;
        outputCombo.currentIndex = Math.round(filter.getDouble("output") * 2);
        backgroundColour.value = filter.get("background colour");
    }

    GridLayout {
        anchors.fill: parent
        anchors.margins: 8
        columns: 2

        Label { text: qsTr("Screen"); Layout.alignment: Qt.AlignRight }
        ComboBox {
            id: screenCombo
            // Person: no screen; the segmentation model finds the person.
            model: [qsTr("Auto"), qsTr("Green"), qsTr("Blue"), qsTr("Person (no screen)")]
            onActivated: {
                filter.set("person", currentIndex === 3 ? 1 : 0);
                if (currentIndex < 3)
                    filter.set("screen", currentIndex / 2);
                keepPerson.enabled = currentIndex < 3;
            }
        }

        // With a screen: the model holds the person solid (clothes the
        // screen's colour); edges stay the key's.
        Label { text: qsTr("Keep person"); Layout.alignment: Qt.AlignRight }
        CheckBox { id: keepPerson; onClicked: filter.set("keep person", checked ? 1 : 0) }

        Label { text: qsTr("Clip black (0: auto)"); Layout.alignment: Qt.AlignRight }
        Shotcut.SliderSpinner { id: clipBlack; minimumValue: 0; maximumValue: 100; suffix: " %"; onValueChanged: filter.set("clip black", value / 100) }

        Label { text: qsTr("Clip white (100: auto)"); Layout.alignment: Qt.AlignRight }
        Shotcut.SliderSpinner { id: clipWhite; minimumValue: 0; maximumValue: 100; suffix: " %"; onValueChanged: filter.set("clip white", value / 100) }

        Label { text: qsTr("Spill"); Layout.alignment: Qt.AlignRight }
        Shotcut.SliderSpinner { id: spill; minimumValue: 0; maximumValue: 100; suffix: " %"; onValueChanged: filter.set("spill", value / 100) }

        Label { text: qsTr("Shrink / grow"); Layout.alignment: Qt.AlignRight }
        Shotcut.SliderSpinner { id: grow; minimumValue: -10; maximumValue: 10; suffix: " px"; onValueChanged: filter.set("grow", value / 20 + 0.5) }

        Label { text: qsTr("Soften"); Layout.alignment: Qt.AlignRight }
        Shotcut.SliderSpinner { id: soften; minimumValue: 0; maximumValue: 20; suffix: " px"; onValueChanged: filter.set("soften", value / 20) }

        Label { text: qsTr("Fill holes"); Layout.alignment: Qt.AlignRight }
        CheckBox { id: fillHoles; onClicked: filter.set("fill holes", checked ? 1 : 0) }

        Label { text: qsTr("Match colour"); Layout.alignment: Qt.AlignRight }
        Shotcut.SliderSpinner { id: matchColour; minimumValue: 0; maximumValue: 100; suffix: " %"; onValueChanged: filter.set("match colour", value / 100) }

        Label { text: qsTr("Light wrap"); Layout.alignment: Qt.AlignRight }
        Shotcut.SliderSpinner { id: lightWrap; minimumValue: 0; maximumValue: 100; suffix: " %"; onValueChanged: filter.set("light wrap", value / 100) }

        Label { text: qsTr("Output"); Layout.alignment: Qt.AlignRight }
        ComboBox {
            id: outputCombo
            model: [qsTr("Composite"), qsTr("Matte"), qsTr("Foreground with alpha")]
            onActivated: filter.set("output", currentIndex / 2)
        }

        Label { text: qsTr("Background image"); Layout.alignment: Qt.AlignRight }
        RowLayout {
            Button { text: qsTr("Open..."); onClicked: imageDialog.open() }
            Button { text: qsTr("Clear"); onClicked: filter.set("background", "") }
        }

        Label { text: qsTr("Background colour"); Layout.alignment: Qt.AlignRight }
        Shotcut.ColorPicker { id: backgroundColour; onValueChanged: filter.set("background colour", value) }

        Item { Layout.fillHeight: true }
    }

    FileDialog {
        id: imageDialog
        title: qsTr("Background image")
        nameFilters: [qsTr("Images (*.png *.exr)")]
        onAccepted: filter.set("background", selectedFile.toString().replace("file://", ""))
    }
}
