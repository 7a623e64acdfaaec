import QtQuick
import org.shotcut.qml

Metadata {
    type: Metadata.Filter
    name: qsTr("Mattebox Key")
    keywords: qsTr("chroma key green blue screen background composite spill", "search keywords for the Mattebox Key video filter") + " mattebox key"
    mlt_service: "frei0r.mattebox_key"
    qml: "ui.qml"
}
