// Unreal's types and the engine-independent core: strings, a render
// target's pixels, where the library lives per platform. Header-only;
// CI compiles and runs it against a few mocked Unreal types
// (hosts/unreal/tests/mock).
#pragma once

#include <string>

#include "CoreMinimal.h"
#include "Core/MatteboxGeneration.h"

namespace MatteboxBridge {

inline std::string ToUtf8(const FString& Text) { return std::string(TCHAR_TO_UTF8(*Text)); }

inline FString FromUtf8(const std::string& Text) { return FString(UTF8_TO_TCHAR(Text.c_str())); }

// A render target's pixels as read back (FColor: B, G, R, A in memory),
// top row first; empty when the count is not Width x Height.
inline MatteboxCore::Still StillFromPixels(const TArray<FColor>& Pixels, int32 Width, int32 Height) {
    static_assert(sizeof(FColor) == 4, "FColor is four bytes, B G R A");
    if (Width <= 0 || Height <= 0 || Pixels.Num() != Width * Height) return MatteboxCore::Still();
    return MatteboxCore::StillFromBgra(reinterpret_cast<const uint8*>(Pixels.GetData()), static_cast<uint32_t>(Width),
                                       static_cast<uint32_t>(Height));
}

// The folder under Binaries/ThirdParty/Mattebox holding this platform's library.
inline const TCHAR* PlatformFolder() {
#if PLATFORM_WINDOWS
    return TEXT("Win64");
#elif PLATFORM_MAC
    return TEXT("Mac");
#else
    return TEXT("Linux");
#endif
}

// The library's file name on this platform.
inline const TCHAR* LibraryFileName() {
#if PLATFORM_WINDOWS
    return TEXT("mattebox.dll");
#elif PLATFORM_MAC
    return TEXT("libmattebox.dylib");
#else
    return TEXT("libmattebox.so");
#endif
}

}  // namespace MatteboxBridge
