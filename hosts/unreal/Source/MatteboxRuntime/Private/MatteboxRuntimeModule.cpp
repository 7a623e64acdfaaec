#include "MatteboxRuntimeModule.h"

#include "Bridge/MatteboxBridge.h"
#include "Core/MatteboxApi.h"
#include "HAL/PlatformProcess.h"
#include "Interfaces/IPluginManager.h"
#include "Misc/Paths.h"

DEFINE_LOG_CATEGORY(LogMattebox);

IMPLEMENT_MODULE(FMatteboxRuntimeModule, MatteboxRuntime)

namespace {

void* ResolveExport(void* Library, const char* Name) {
    return FPlatformProcess::GetDllExport(Library, UTF8_TO_TCHAR(Name));
}

}  // namespace

void FMatteboxRuntimeModule::StartupModule() {
    // The library ships in the plugin (Binaries/ThirdParty/Mattebox/<platform>/),
    // staged there by MatteboxLibrary.Build.cs's RuntimeDependencies.
    const TSharedPtr<IPlugin> Plugin = IPluginManager::Get().FindPlugin(TEXT("Mattebox"));
    const FString Dir = Plugin.IsValid() ? FPaths::Combine(Plugin->GetBaseDir(), TEXT("Binaries/ThirdParty/Mattebox"),
                                                           MatteboxBridge::PlatformFolder())
                                         : FString();
    const FString Path = FPaths::Combine(Dir, MatteboxBridge::LibraryFileName());
    FPlatformProcess::PushDllDirectory(*Dir);
    LibraryHandle = FPlatformProcess::GetDllHandle(*Path);
    FPlatformProcess::PopDllDirectory(*Dir);
    Api = MakeUnique<MatteboxCore::Api>();
    const std::string Error = MatteboxCore::Bind(LibraryHandle ? &ResolveExport : nullptr, LibraryHandle,
                                                 MatteboxBridge::ToUtf8(Path), *Api);
    if (!Error.empty()) {
        LoadError = MatteboxBridge::FromUtf8(Error);
        UE_LOG(LogMattebox, Error, TEXT("Mattebox is off: %s"), *LoadError);
        Api.Reset();
        if (LibraryHandle) {
            FPlatformProcess::FreeDllHandle(LibraryHandle);
            LibraryHandle = nullptr;
        }
        return;
    }
    UE_LOG(LogMattebox, Log, TEXT("Mattebox %s (C ABI %u.%u) loaded from %s"), UTF8_TO_TCHAR(Api->version()),
           Api->abi_version() >> 16, Api->abi_version() & 0xffff, *Path);
}

void FMatteboxRuntimeModule::ShutdownModule() {
    // Subsystems (and their runtimes) are gone before modules shut down.
    Api.Reset();
    if (LibraryHandle) {
        FPlatformProcess::FreeDllHandle(LibraryHandle);
        LibraryHandle = nullptr;
    }
}
