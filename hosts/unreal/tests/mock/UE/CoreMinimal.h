// A few Unreal types, enough to build and run the plugin's bridge
// (Private/Bridge) outside the engine: the integer names, TCHAR as UTF-16
// (as on Linux and Windows), FString, TArray, FColor in the engine's
// little-endian layout, and the UTF-8 converters. Written from the
// engine's documentation; not the engine's code.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#ifndef PLATFORM_LINUX
#define PLATFORM_LINUX 1
#endif
#ifndef PLATFORM_WINDOWS
#define PLATFORM_WINDOWS 0
#endif
#ifndef PLATFORM_MAC
#define PLATFORM_MAC 0
#endif

using int32 = int32_t;
using uint8 = uint8_t;
using uint32 = uint32_t;
using TCHAR = char16_t;
#define TEXT(x) u##x

// B, G, R, A in memory, as FColor is on little-endian platforms.
struct FColor {
    uint8 B = 0, G = 0, R = 0, A = 0;
};

template <typename T>
class TArray {
public:
    int32 Num() const { return static_cast<int32>(Items.size()); }
    T* GetData() { return Items.data(); }
    const T* GetData() const { return Items.data(); }
    void Add(const T& Item) { Items.push_back(Item); }
    T& operator[](int32 Index) { return Items[static_cast<size_t>(Index)]; }
    const T& operator[](int32 Index) const { return Items[static_cast<size_t>(Index)]; }

private:
    std::vector<T> Items;
};

class FString {
public:
    FString() = default;
    explicit FString(const TCHAR* Text) : Chars(Text ? Text : u"") {}
    const TCHAR* operator*() const { return Chars.c_str(); }
    int32 Len() const { return static_cast<int32>(Chars.size()); }
    bool operator==(const FString& Other) const { return Chars == Other.Chars; }

private:
    std::u16string Chars;
};

// UE's converters: an object holding the converted text for the rest of
// the full expression.
class FTCHARToUTF8 {
public:
    explicit FTCHARToUTF8(const TCHAR* Text) {
        for (const TCHAR* P = Text; *P; ++P) {
            uint32 C = *P;
            if (C >= 0xD800 && C < 0xDC00 && P[1] >= 0xDC00 && P[1] < 0xE000) {
                C = 0x10000 + ((C - 0xD800) << 10) + (static_cast<uint32>(P[1]) - 0xDC00);
                ++P;
            }
            if (C < 0x80) {
                Out += static_cast<char>(C);
            } else if (C < 0x800) {
                Out += static_cast<char>(0xC0 | (C >> 6));
                Out += static_cast<char>(0x80 | (C & 0x3F));
            } else if (C < 0x10000) {
                Out += static_cast<char>(0xE0 | (C >> 12));
                Out += static_cast<char>(0x80 | ((C >> 6) & 0x3F));
                Out += static_cast<char>(0x80 | (C & 0x3F));
            } else {
                Out += static_cast<char>(0xF0 | (C >> 18));
                Out += static_cast<char>(0x80 | ((C >> 12) & 0x3F));
                Out += static_cast<char>(0x80 | ((C >> 6) & 0x3F));
                Out += static_cast<char>(0x80 | (C & 0x3F));
            }
        }
    }
    const char* Get() const { return Out.c_str(); }

private:
    std::string Out;
};

class FUTF8ToTCHAR {
public:
    explicit FUTF8ToTCHAR(const char* Text) {
        const auto* P = reinterpret_cast<const unsigned char*>(Text);
        while (*P) {
            uint32 C = *P;
            int Extra = C >= 0xF0 ? 3 : C >= 0xE0 ? 2 : C >= 0xC0 ? 1 : 0;
            C &= Extra == 3 ? 0x07 : Extra == 2 ? 0x0F : Extra == 1 ? 0x1F : 0x7F;
            ++P;
            for (int I = 0; I < Extra && *P; ++I, ++P) C = (C << 6) | (*P & 0x3F);
            if (C >= 0x10000) {
                C -= 0x10000;
                Out += static_cast<TCHAR>(0xD800 + (C >> 10));
                Out += static_cast<TCHAR>(0xDC00 + (C & 0x3FF));
            } else {
                Out += static_cast<TCHAR>(C);
            }
        }
    }
    const TCHAR* Get() const { return Out.c_str(); }

private:
    std::u16string Out;
};

#define TCHAR_TO_UTF8(Text) FTCHARToUTF8(Text).Get()
#define UTF8_TO_TCHAR(Text) FUTF8ToTCHAR(Text).Get()
