// Tools > Mattebox > Score Rendered Frames: pick a Movie Render Queue output
// folder (and, optionally, a character sheet image), see its consistency
// scores in a notification and the log.
#include "DesktopPlatformModule.h"
#include "Framework/Notifications/NotificationManager.h"
#include "IDesktopPlatform.h"
#include "MatteboxRuntimeModule.h"
#include "MatteboxSubsystem.h"
#include "Modules/ModuleManager.h"
#include "ToolMenus.h"
#include "Widgets/Notifications/SNotificationList.h"
#include "Editor.h"

#define LOCTEXT_NAMESPACE "MatteboxEditor"

namespace {

void ScoreRenderedFrames() {
    IDesktopPlatform* Desktop = FDesktopPlatformModule::Get();
    FString Folder;
    if (!Desktop || !Desktop->OpenDirectoryDialog(nullptr, TEXT("Movie Render Queue output"), FString(), Folder)) {
        return;
    }
    TArray<FString> Sheet;
    Desktop->OpenFileDialog(nullptr, TEXT("Character sheet (optional)"), FString(), FString(),
                            TEXT("Images|*.png;*.jpg;*.exr"), EFileDialogFlags::None, Sheet);
    UGameInstance* GameInstance = GEditor && GEditor->PlayWorld ? GEditor->PlayWorld->GetGameInstance() : nullptr;
    UMatteboxSubsystem* Subsystem = GameInstance ? GameInstance->GetSubsystem<UMatteboxSubsystem>() : nullptr;
    FString Message;
    FMatteboxScores Scores;
    if (!Subsystem) {
        Message = TEXT("Start Play In Editor once: scoring runs in the game instance's Mattebox.");
    } else if (!Subsystem->ScoreRenderedFrames(Folder, Sheet.Num() ? Sheet[0] : FString(), FString(), FString(), Scores,
                                               Message)) {
        Message = FString::Printf(TEXT("Mattebox could not score %s: %s"), *Folder, *Message);
    } else {
        Message = FString::Printf(
            TEXT("%d frames: subject %.2f, background %.2f, flicker %.2f, boiling %.2f, grade %.2f, character %.2f"),
            Scores.Frames, Scores.Subject, Scores.Background, Scores.Flicker, Scores.Boiling, Scores.Grade,
            Scores.Character);
    }
    UE_LOG(LogMattebox, Log, TEXT("%s"), *Message);
    FNotificationInfo Info(FText::FromString(Message));
    Info.ExpireDuration = 8.0f;
    FSlateNotificationManager::Get().AddNotification(Info);
}

}  // namespace

class FMatteboxEditorModule : public IModuleInterface {
public:
    virtual void StartupModule() override {
        UToolMenus::RegisterStartupCallback(
            FSimpleMulticastDelegate::FDelegate::CreateRaw(this, &FMatteboxEditorModule::RegisterMenus));
    }

    virtual void ShutdownModule() override {
        UToolMenus::UnRegisterStartupCallback(this);
        UToolMenus::UnregisterOwner(this);
    }

private:
    void RegisterMenus() {
        FToolMenuOwnerScoped OwnerScoped(this);
        UToolMenu* Menu = UToolMenus::Get()->ExtendMenu("LevelEditor.MainMenu.Tools");
        FToolMenuSection& Section = Menu->AddSection("Mattebox", LOCTEXT("Mattebox", "Mattebox"));
        Section.AddMenuEntry("MatteboxScoreRenderedFrames", LOCTEXT("Score", "Score Rendered Frames..."),
                             LOCTEXT("ScoreTip", "Consistency scores of a Movie Render Queue output folder"),
                             FSlateIcon(), FUIAction(FExecuteAction::CreateStatic(&ScoreRenderedFrames)));
    }
};

IMPLEMENT_MODULE(FMatteboxEditorModule, MatteboxEditor)

#undef LOCTEXT_NAMESPACE
