// The plugin's bridge between Unreal's types and the engine-independent
// core (Private/Bridge/MatteboxBridge.h), built with Unreal's Linux flags
// against a few mocked Unreal types (mock/UE) and run.
#include <cstdio>
#include <string>

#include "Bridge/MatteboxBridge.h"

static int failures = 0;
#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            std::fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            ++failures;                                                          \
        }                                                                        \
    } while (0)

int main() {
    // Prompts and paths round-trip through UTF-16, astral characters too.
    const std::string text = "caf\xC3\xA9 \xE6\x9D\xB1\xE4\xBA\xAC \xF0\x9F\x8E\xAC";
    const FString unreal = MatteboxBridge::FromUtf8(text);
    CHECK(unreal.Len() == 10);  // c a f é space 東 京 space and a surrogate pair
    CHECK(MatteboxBridge::ToUtf8(unreal) == text);
    CHECK(MatteboxBridge::ToUtf8(FString(TEXT(""))).empty());

    // A render target's pixels (B G R A) become the core's RGBA still.
    TArray<FColor> pixels;
    for (int32 i = 0; i < 6; ++i) {
        FColor c;
        c.B = static_cast<uint8>(10 + i);
        c.G = 100;
        c.R = static_cast<uint8>(200 + i);
        c.A = 255;
        pixels.Add(c);
    }
    const MatteboxCore::Still still = MatteboxBridge::StillFromPixels(pixels, 3, 2);
    CHECK(still.width == 3 && still.height == 2 && still.rgba.size() == 24);
    CHECK(still.rgba[0] == 200 && still.rgba[1] == 100 && still.rgba[2] == 10 && still.rgba[3] == 255);
    CHECK(still.rgba[20] == 205 && still.rgba[22] == 15);
    // A count that is not width x height is no image.
    CHECK(MatteboxBridge::StillFromPixels(pixels, 4, 2).rgba.empty());
    CHECK(MatteboxBridge::StillFromPixels(pixels, -3, -2).rgba.empty());

    // Where the library is looked for on this platform.
    CHECK(std::u16string(MatteboxBridge::PlatformFolder()) == u"Linux");
    CHECK(std::u16string(MatteboxBridge::LibraryFileName()) == u"libmattebox.so");

    std::printf("bridge_test: %d failure(s)\n", failures);
    return failures ? 1 : 0;
}
