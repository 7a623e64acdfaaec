#include "MatteboxSubsystem.h"

#include "Bridge/MatteboxBridge.h"
#include "Core/MatteboxApi.h"
#include "Core/MatteboxScore.h"
#include "MatteboxGenerateShot.h"
#include "MatteboxRuntimeModule.h"

void UMatteboxSubsystem::Initialize(FSubsystemCollectionBase& Collection) {
    Super::Initialize(Collection);
    const FMatteboxRuntimeModule& Module = FMatteboxRuntimeModule::Get();
    Api = Module.GetApi();
    if (!Api) {
        Error = Module.GetLoadError();
        return;
    }
    mb_runtime_options Options;
    Api->runtime_options_init(&Options);
    if (Api->runtime_new(&Options, &Runtime) != MB_RESULT_OK ||
        Api->generations_new(Runtime, &Generations) != MB_RESULT_OK) {
        Error = MatteboxBridge::FromUtf8(Api->Error("Mattebox could not start"));
        UE_LOG(LogMattebox, Error, TEXT("%s"), *Error);
        if (Runtime) Api->runtime_free(Runtime);
        Runtime = nullptr;
        Generations = nullptr;
    }
}

void UMatteboxSubsystem::Deinitialize() {
    // Nodes still running are cancelled; their jobs are freed before the
    // service and the runtime they run on.
    for (UMatteboxGenerateShot* Action : TArray<TObjectPtr<UMatteboxGenerateShot>>(InFlight)) {
        if (Action) Action->Cancel();
    }
    InFlight.Empty();
    if (Api) {
        if (Generations) Api->generations_free(Generations);
        if (Runtime) Api->runtime_free(Runtime);
    }
    Generations = nullptr;
    Runtime = nullptr;
    Super::Deinitialize();
}

void UMatteboxSubsystem::Track(UMatteboxGenerateShot* Action) { InFlight.AddUnique(Action); }

void UMatteboxSubsystem::Untrack(UMatteboxGenerateShot* Action) { InFlight.Remove(Action); }

bool UMatteboxSubsystem::ScoreRenderedFrames(const FString& Sequence, const FString& CharacterSheet,
                                             const FString& Location, const FString& Look,
                                             FMatteboxScores& OutScores, FString& OutError) {
    if (!IsAvailable()) {
        OutError = Error;
        return false;
    }
    std::vector<std::pair<mb_reference_kind, std::string>> References;
    if (!CharacterSheet.IsEmpty()) References.emplace_back(MB_REFERENCE_CHARACTER, MatteboxBridge::ToUtf8(CharacterSheet));
    if (!Location.IsEmpty()) References.emplace_back(MB_REFERENCE_LOCATION, MatteboxBridge::ToUtf8(Location));
    if (!Look.IsEmpty()) References.emplace_back(MB_REFERENCE_LOOK, MatteboxBridge::ToUtf8(Look));
    const MatteboxCore::ShotScore Score =
        MatteboxCore::ScoreSequence(*Api, Runtime, MatteboxBridge::ToUtf8(Sequence), References);
    if (!Score.error.empty()) {
        OutError = MatteboxBridge::FromUtf8(Score.error);
        return false;
    }
    OutScores.Frames = static_cast<int32>(Score.frames);
    OutScores.Subject = Score.values[MB_SCORE_SUBJECT];
    OutScores.Background = Score.values[MB_SCORE_BACKGROUND];
    OutScores.Flicker = Score.values[MB_SCORE_FLICKER];
    OutScores.Boiling = Score.values[MB_SCORE_BOILING];
    OutScores.Grade = Score.values[MB_SCORE_GRADE];
    OutScores.Smoothness = Score.values[MB_SCORE_SMOOTHNESS];
    OutScores.Character = Score.values[MB_SCORE_CHARACTER];
    OutScores.Location = Score.values[MB_SCORE_LOCATION];
    OutScores.GradeMatch = Score.values[MB_SCORE_GRADE_MATCH];
    OutScores.StyleMatch = Score.values[MB_SCORE_STYLE_MATCH];
    return true;
}
