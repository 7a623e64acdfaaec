// The Blueprint-facing values of Mattebox: a camera move and a shot's scores.
#pragma once

#include "CoreMinimal.h"

#include "MatteboxTypes.generated.h"

// A camera move over the shot, each axis -1 to 1.
USTRUCT(BlueprintType)
struct MATTEBOXRUNTIME_API FMatteboxCameraMove {
    GENERATED_BODY()

    UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Mattebox", meta = (ClampMin = "-1", ClampMax = "1"))
    float Truck = 0.f;
    UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Mattebox", meta = (ClampMin = "-1", ClampMax = "1"))
    float Pedestal = 0.f;
    UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Mattebox", meta = (ClampMin = "-1", ClampMax = "1"))
    float Pan = 0.f;
    UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Mattebox", meta = (ClampMin = "-1", ClampMax = "1"))
    float Tilt = 0.f;
    UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Mattebox", meta = (ClampMin = "-1", ClampMax = "1"))
    float Roll = 0.f;
    UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "Mattebox", meta = (ClampMin = "-1", ClampMax = "1"))
    float PushIn = 0.f;
};

// A shot's consistency, 0 to 1 (higher is steadier); -1 for a reference
// score without a reference of that kind.
USTRUCT(BlueprintType)
struct MATTEBOXRUNTIME_API FMatteboxScores {
    GENERATED_BODY()

    UPROPERTY(BlueprintReadOnly, Category = "Mattebox")
    int32 Frames = 0;
    UPROPERTY(BlueprintReadOnly, Category = "Mattebox")
    float Subject = 0.f;
    UPROPERTY(BlueprintReadOnly, Category = "Mattebox")
    float Background = 0.f;
    UPROPERTY(BlueprintReadOnly, Category = "Mattebox")
    float Flicker = 0.f;
    UPROPERTY(BlueprintReadOnly, Category = "Mattebox")
    float Boiling = 0.f;
    UPROPERTY(BlueprintReadOnly, Category = "Mattebox")
    float Grade = 0.f;
    UPROPERTY(BlueprintReadOnly, Category = "Mattebox")
    float Smoothness = 0.f;
    UPROPERTY(BlueprintReadOnly, Category = "Mattebox")
    float Character = -1.f;
    UPROPERTY(BlueprintReadOnly, Category = "Mattebox")
    float Location = -1.f;
    UPROPERTY(BlueprintReadOnly, Category = "Mattebox")
    float GradeMatch = -1.f;
    UPROPERTY(BlueprintReadOnly, Category = "Mattebox")
    float StyleMatch = -1.f;
};
