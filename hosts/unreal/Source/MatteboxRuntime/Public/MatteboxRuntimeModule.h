// The Mattebox runtime module: loads libmattebox from the plugin's folder
// at start-up and checks its ABI, logging clearly when it cannot.
#pragma once

#include "CoreMinimal.h"
#include "Modules/ModuleManager.h"

namespace MatteboxCore {
struct Api;
}

DECLARE_LOG_CATEGORY_EXTERN(LogMattebox, Log, All);

class MATTEBOXRUNTIME_API FMatteboxRuntimeModule : public IModuleInterface {
public:
    virtual void StartupModule() override;
    virtual void ShutdownModule() override;

    static FMatteboxRuntimeModule& Get() {
        return FModuleManager::LoadModuleChecked<FMatteboxRuntimeModule>(TEXT("MatteboxRuntime"));
    }

    // The library's functions; null when it did not load (GetLoadError says why).
    const MatteboxCore::Api* GetApi() const { return Api.Get(); }
    const FString& GetLoadError() const { return LoadError; }

private:
    void* LibraryHandle = nullptr;
    TUniquePtr<MatteboxCore::Api> Api;
    FString LoadError;
};
