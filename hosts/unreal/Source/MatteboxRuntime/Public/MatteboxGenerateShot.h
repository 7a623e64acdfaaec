// The Blueprint async node "Generate Shot": a prompt, a still from a render
// target, a camera move and a number of takes in; progress, the takes as
// image-sequence media sources (for a Media Plate, or a Composure plate), or
// why it failed, out. Events arrive on the game thread; the node is
// cancelled when its world tears down (EndPlay) or the game instance ends.
#pragma once

#include "Containers/Ticker.h"
#include "CoreMinimal.h"
#include "Kismet/BlueprintAsyncActionBase.h"
#include "MatteboxTypes.h"

#include "MatteboxGenerateShot.generated.h"

class UImgMediaSource;
class UTextureRenderTarget2D;
namespace MatteboxCore {
class Generation;
struct ShotSettings;
}

DECLARE_DYNAMIC_MULTICAST_DELEGATE_TwoParams(FMatteboxShotProgress, int32, Take, float, Fraction);
DECLARE_DYNAMIC_MULTICAST_DELEGATE_OneParam(FMatteboxShotCompleted, const TArray<UImgMediaSource*>&, Takes);
DECLARE_DYNAMIC_MULTICAST_DELEGATE_OneParam(FMatteboxShotFailed, const FString&, Message);

UCLASS()
class MATTEBOXRUNTIME_API UMatteboxGenerateShot : public UBlueprintAsyncActionBase {
    GENERATED_BODY()

public:
    UFUNCTION(BlueprintCallable, Category = "Mattebox",
              meta = (BlueprintInternalUseOnly = "true", WorldContext = "WorldContextObject",
                      DisplayName = "Generate Shot"))
    static UMatteboxGenerateShot* GenerateShot(UObject* WorldContextObject, const FString& Prompt,
                                               UTextureRenderTarget2D* Still, FMatteboxCameraMove Camera,
                                               int32 Takes = 1, float Duration = 2.f,
                                               float FramesPerSecond = 24.f, int32 Width = 1280,
                                               int32 Height = 720, int32 Seed = 0);

    // Per take, 0 to 1.
    UPROPERTY(BlueprintAssignable)
    FMatteboxShotProgress OnProgress;
    // Every take ended; the ready ones, each an image sequence.
    UPROPERTY(BlueprintAssignable)
    FMatteboxShotCompleted OnCompleted;
    UPROPERTY(BlueprintAssignable)
    FMatteboxShotFailed OnFailed;

    virtual void Activate() override;

    // Stops the takes still running; OnFailed says "cancelled".
    UFUNCTION(BlueprintCallable, Category = "Mattebox")
    void Cancel();

    virtual void BeginDestroy() override;

private:
    bool Tick(float DeltaSeconds);
    void OnWorldTearDown(UWorld* TornDown);
    void Stop();

    TUniquePtr<MatteboxCore::ShotSettings> Settings;
    TUniquePtr<MatteboxCore::Generation> Generation;
    TWeakObjectPtr<UWorld> World;
    TWeakObjectPtr<class UMatteboxSubsystem> Subsystem;
    FTSTicker::FDelegateHandle TickHandle;
    FDelegateHandle TearDownHandle;
    UPROPERTY()
    TArray<TObjectPtr<UImgMediaSource>> Sources;
};
