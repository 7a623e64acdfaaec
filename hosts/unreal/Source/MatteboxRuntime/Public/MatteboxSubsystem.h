// The game instance's Mattebox: a runtime and the generation service over
// the loaded library, the Generate Shot nodes in flight (cancelled when the
// game instance ends), and scoring of rendered frames.
#pragma once

#include "CoreMinimal.h"
#include "MatteboxTypes.h"
#include "Subsystems/GameInstanceSubsystem.h"

#include "MatteboxSubsystem.generated.h"

struct mb_runtime;
struct mb_generations;
namespace MatteboxCore {
struct Api;
}
class UMatteboxGenerateShot;

UCLASS()
class MATTEBOXRUNTIME_API UMatteboxSubsystem : public UGameInstanceSubsystem {
    GENERATED_BODY()

public:
    virtual void Initialize(FSubsystemCollectionBase& Collection) override;
    virtual void Deinitialize() override;

    // Whether the library loaded and the runtime started; else GetError says why.
    UFUNCTION(BlueprintPure, Category = "Mattebox")
    bool IsAvailable() const { return Runtime != nullptr; }
    UFUNCTION(BlueprintPure, Category = "Mattebox")
    FString GetError() const { return Error; }

    // Scores rendered frames (Movie Render Queue's output folder, or a
    // pattern such as Shot.%04d.png) against the character sheet, the
    // location and the look (image files; empty for none). False, with
    // OutError, when a file cannot be read.
    UFUNCTION(BlueprintCallable, Category = "Mattebox")
    bool ScoreRenderedFrames(const FString& Sequence, const FString& CharacterSheet, const FString& Location,
                             const FString& Look, FMatteboxScores& OutScores, FString& OutError);

    const MatteboxCore::Api* GetApi() const { return Api; }
    mb_generations* GetGenerations() const { return Generations; }
    void Track(UMatteboxGenerateShot* Action);
    void Untrack(UMatteboxGenerateShot* Action);

private:
    const MatteboxCore::Api* Api = nullptr;
    mb_runtime* Runtime = nullptr;
    mb_generations* Generations = nullptr;
    FString Error;
    UPROPERTY()
    TArray<TObjectPtr<UMatteboxGenerateShot>> InFlight;
};
