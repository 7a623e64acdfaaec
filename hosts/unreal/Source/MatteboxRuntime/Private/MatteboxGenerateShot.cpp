#include "MatteboxGenerateShot.h"

#include "Bridge/MatteboxBridge.h"
#include "Core/MatteboxGeneration.h"
#include "Engine/GameInstance.h"
#include "Engine/TextureRenderTarget2D.h"
#include "Engine/World.h"
#include "ImgMediaSource.h"
#include "MatteboxRuntimeModule.h"
#include "MatteboxSubsystem.h"
#include "TextureResource.h"

UMatteboxGenerateShot* UMatteboxGenerateShot::GenerateShot(UObject* WorldContextObject, const FString& Prompt,
                                                           UTextureRenderTarget2D* Still, FMatteboxCameraMove Camera,
                                                           int32 Takes, float Duration, float FramesPerSecond,
                                                           int32 Width, int32 Height, int32 Seed) {
    UMatteboxGenerateShot* Action = NewObject<UMatteboxGenerateShot>();
    Action->World = WorldContextObject ? WorldContextObject->GetWorld() : nullptr;
    Action->Settings = MakeUnique<MatteboxCore::ShotSettings>();
    MatteboxCore::ShotSettings& S = *Action->Settings;
    S.prompt = MatteboxBridge::ToUtf8(Prompt);
    const float Axes[6] = {Camera.Truck, Camera.Pedestal, Camera.Pan, Camera.Tilt, Camera.Roll, Camera.PushIn};
    for (int32 I = 0; I < 6; ++I) S.camera[I] = Axes[I];
    S.duration_seconds = Duration;
    S.fps = FramesPerSecond;
    S.width = static_cast<uint32_t>(FMath::Max(Width, 0));
    S.height = static_cast<uint32_t>(FMath::Max(Height, 0));
    S.takes = static_cast<uint32_t>(FMath::Clamp(Takes, 1, 8));
    S.seed = static_cast<uint64_t>(FMath::Max(Seed, 0));
    // The still is read now, on the game thread, as the render target holds it.
    if (Still) {
        if (FTextureRenderTargetResource* Resource = Still->GameThread_GetRenderTargetResource()) {
            TArray<FColor> Pixels;
            if (Resource->ReadPixels(Pixels)) {
                S.first_frame = MatteboxBridge::StillFromPixels(Pixels, Still->SizeX, Still->SizeY);
            }
        }
    }
    if (UGameInstance* GameInstance = Action->World.IsValid() ? Action->World->GetGameInstance() : nullptr) {
        Action->RegisterWithGameInstance(GameInstance);
        Action->Subsystem = GameInstance->GetSubsystem<UMatteboxSubsystem>();
    }
    return Action;
}

void UMatteboxGenerateShot::Activate() {
    UMatteboxSubsystem* Owner = Subsystem.Get();
    if (!Owner || !Owner->IsAvailable()) {
        OnFailed.Broadcast(Owner ? Owner->GetError() : FString(TEXT("Mattebox needs a game instance")));
        SetReadyToDestroy();
        return;
    }
    Owner->Track(this);
    Generation = MakeUnique<MatteboxCore::Generation>(*Owner->GetApi(), Owner->GetGenerations());
    Generation->Start(*Settings);
    // Polled on the game thread; a refused request is reported on the first tick.
    TickHandle = FTSTicker::GetCoreTicker().AddTicker(FTickerDelegate::CreateUObject(this, &UMatteboxGenerateShot::Tick));
    TearDownHandle = FWorldDelegates::OnWorldBeginTearDown.AddUObject(this, &UMatteboxGenerateShot::OnWorldTearDown);
}

bool UMatteboxGenerateShot::Tick(float) {
    if (!Generation) return false;
    using Kind = MatteboxCore::GenerationEvent::Kind;
    for (const MatteboxCore::GenerationEvent& Event : Generation->Poll()) {
        switch (Event.kind) {
            case Kind::Progress:
                OnProgress.Broadcast(Event.take, Event.fraction);
                break;
            case Kind::TakeReady: {
                UImgMediaSource* Source = NewObject<UImgMediaSource>(this);
                Source->SetSequencePath(MatteboxBridge::FromUtf8(Event.text));
                Sources.Add(Source);
                break;
            }
            case Kind::TakeFailed:
                UE_LOG(LogMattebox, Warning, TEXT("Mattebox: take %d: %s"), Event.take + 1,
                       *MatteboxBridge::FromUtf8(Event.text));
                break;
            case Kind::Completed: {
                TArray<UImgMediaSource*> Ready;
                for (UImgMediaSource* Source : Sources) Ready.Add(Source);
                OnCompleted.Broadcast(Ready);
                break;
            }
            case Kind::Failed:
            case Kind::Cancelled:
                OnFailed.Broadcast(MatteboxBridge::FromUtf8(Event.text));
                break;
        }
    }
    const bool Running = Generation->GetState() == MatteboxCore::Generation::State::Running;
    if (!Running) Stop();
    return Running;
}

void UMatteboxGenerateShot::Cancel() {
    if (Generation) Generation->Cancel();
}

void UMatteboxGenerateShot::OnWorldTearDown(UWorld* TornDown) {
    // EndPlay: the takes are not wanted any more; nothing is broadcast to a
    // world that is going.
    if (TornDown == World.Get()) {
        if (Generation) Generation->Cancel();
        Stop();
    }
}

void UMatteboxGenerateShot::Stop() {
    if (TickHandle.IsValid()) {
        FTSTicker::GetCoreTicker().RemoveTicker(TickHandle);
        TickHandle.Reset();
    }
    if (TearDownHandle.IsValid()) {
        FWorldDelegates::OnWorldBeginTearDown.Remove(TearDownHandle);
        TearDownHandle.Reset();
    }
    if (UMatteboxSubsystem* Owner = Subsystem.Get()) Owner->Untrack(this);
    SetReadyToDestroy();
}

void UMatteboxGenerateShot::BeginDestroy() {
    // The job goes with the node: freeing it cancels what still runs.
    Stop();
    Generation.Reset();
    Super::BeginDestroy();
}
