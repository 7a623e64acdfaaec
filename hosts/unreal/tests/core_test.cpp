// The plugin's engine-independent C++ (loading and the ABI check, the
// Generate Shot state machine, scoring a rendered sequence) against the real
// libmattebox.so, as the Unreal module drives them. Built by
// hosts/unreal/checks with Unreal's Linux flags; argv[1] is the library.
#include <dlfcn.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "Core/MatteboxApi.h"
#include "Core/MatteboxGeneration.h"
#include "Core/MatteboxScore.h"

using namespace MatteboxCore;

static int failures = 0;
#define CHECK(cond, ...)                                          \
    do {                                                          \
        if (!(cond)) {                                            \
            std::fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            std::fprintf(stderr, __VA_ARGS__);                    \
            std::fprintf(stderr, "\n");                           \
            ++failures;                                           \
        }                                                         \
    } while (0)

static void* resolve_dlsym(void* library, const char* name) { return dlsym(library, name); }

// A library that claims another ABI: the real one, but mb_abi_version lies.
static uint32_t fake_abi = 0;
static uint32_t lying_abi_version() { return fake_abi; }
static void* resolve_lying(void* library, const char* name) {
    if (std::strcmp(name, "mb_abi_version") == 0) return reinterpret_cast<void*>(&lying_abi_version);
    return dlsym(library, name);
}
// A library that lacks the function this ABI added last.
static void* resolve_old(void* library, const char* name) {
    if (std::strcmp(name, "mb_generation_take_dir") == 0) return nullptr;
    return dlsym(library, name);
}

// Polls until the generation leaves Running (the game thread's ticks), at
// most `seconds`; returns every event.
static std::vector<GenerationEvent> run(Generation& generation, int seconds) {
    std::vector<GenerationEvent> all;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
        for (auto& e : generation.Poll()) all.push_back(e);
        if (generation.GetState() != Generation::State::Running) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));  // a game tick
    }
    for (auto& e : generation.Poll()) all.push_back(e);
    return all;
}

static bool exists(const std::string& path) {
    struct stat st;
    return stat(path.c_str(), &st) == 0;
}

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: core_test LIBMATTEBOX [CACHE_DIR]\n");
        return 2;
    }
    void* library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        std::fprintf(stderr, "cannot load %s: %s\n", argv[1], dlerror());
        return 2;
    }
    Api api;
    // Loading: a library of another major, an older minor, or one that
    // lacks a function is refused with words for the log.
    fake_abi = (2u << 16) | 0;
    std::string refused = Bind(resolve_lying, library, "/plugins/Mattebox/libmattebox.so", api);
    CHECK(refused.find("speaks the Mattebox C ABI 2.0") != std::string::npos &&
              refused.find("install the libmattebox that came with this plugin") != std::string::npos &&
              api.generation_submit == nullptr,
          "%s", refused.c_str());
    fake_abi = (1u << 16) | 0;
    refused = Bind(resolve_lying, library, "old.so", api);
    CHECK(refused.find("ABI 1.0") != std::string::npos, "%s", refused.c_str());
    fake_abi = MB_ABI_VERSION + 1;  // a newer minor is fine
    CHECK(Bind(resolve_lying, library, "newer.so", api).empty(), "a newer minor version is accepted");
    refused = Bind(resolve_old, library, "old.so", api);
    CHECK(refused.find("lacks mb_generation_take_dir") != std::string::npos, "%s", refused.c_str());
    CHECK(Bind(nullptr, nullptr, "nowhere.so", api).find("not loaded") != std::string::npos, "no library");
    std::string bound = Bind(resolve_dlsym, library, argv[1], api);
    CHECK(bound.empty(), "%s", bound.c_str());
    if (!bound.empty()) return 1;

    mb_runtime_options options;
    api.runtime_options_init(&options);
    if (argc > 2) options.cache_dir = argv[2];
    mb_runtime* runtime = nullptr;
    mb_generations* generations = nullptr;
    CHECK(api.runtime_new(&options, &runtime) == MB_RESULT_OK, "%s", api.Error("runtime").c_str());
    CHECK(api.generations_new(runtime, &generations) == MB_RESULT_OK, "%s", api.Error("generations").c_str());

    // Generate Shot: two takes of a small pan from a still; progress, each
    // take's folder of frames, then Completed.
    ShotSettings settings;
    settings.prompt = "dusk over the harbour";
    settings.width = 64;
    settings.height = 36;
    settings.duration_seconds = 0.25;
    settings.fps = 24.0;
    settings.camera[2] = 0.4f;
    settings.takes = 2;
    settings.seed = 5;
    std::vector<uint8_t> bgra(64 * 36 * 4);
    // A textured still (the render target): gradients and a bright box.
    for (size_t y = 0; y < 36; ++y) {
        for (size_t x = 0; x < 64; ++x) {
            uint8_t* p = &bgra[(y * 64 + x) * 4];
            const bool box = x >= 24 && x < 40 && y >= 10 && y < 26;
            p[0] = box ? 240 : static_cast<uint8_t>(x * 4);         // B
            p[1] = box ? 230 : static_cast<uint8_t>(y * 7);         // G
            p[2] = box ? 220 : static_cast<uint8_t>((x ^ y) * 3);   // R
            p[3] = 255;
        }
    }
    settings.first_frame = StillFromBgra(bgra.data(), 64, 36);
    CHECK(settings.first_frame.rgba[(12 * 64 + 30) * 4 + 0] == 220 && settings.first_frame.rgba[(12 * 64 + 30) * 4 + 2] == 240,
          "BGRA becomes RGBA");
    {
        Generation generation(api, generations);
        CHECK(generation.Start(settings), "start: %s", api.Error("").c_str());
        auto events = run(generation, 60);
        int progress = 0, ready = 0, completed = 0;
        for (auto& e : events) {
            if (e.kind == GenerationEvent::Kind::Progress) ++progress;
            if (e.kind == GenerationEvent::Kind::TakeReady) {
                ++ready;
                CHECK(exists(e.text + "/frame_000001.png") && exists(e.text + "/frame_000006.png") &&
                          !exists(e.text + "/frame_000007.png"),
                      "take %d's folder %s holds its six frames", e.take, e.text.c_str());
            }
            if (e.kind == GenerationEvent::Kind::Completed) ++completed;
            CHECK(e.kind != GenerationEvent::Kind::Failed && e.kind != GenerationEvent::Kind::TakeFailed, "%s",
                  e.text.c_str());
        }
        CHECK(generation.GetState() == Generation::State::Completed, "state %d", (int)generation.GetState());
        CHECK(progress >= 2 && ready == 2 && completed == 1 && events.back().kind == GenerationEvent::Kind::Completed,
              "%d progress, %d ready, %d completed", progress, ready, completed);
        CHECK(generation.TakeDirs().size() == 2 && generation.TakeDirs()[0] != generation.TakeDirs()[1],
              "two folders");
        CHECK(generation.Poll().empty(), "nothing more after Completed");

        // Movie Render Queue's output scored against a reference: here the
        // take itself, against its own first frame.
        const std::string dir = generation.TakeDirs()[0];
        ShotScore score = ScoreSequence(api, runtime, dir, {{MB_REFERENCE_CHARACTER, dir + "/frame_000001.png"}});
        CHECK(score.error.empty(), "%s", score.error.c_str());
        CHECK(score.frames == 6 && score.values[MB_SCORE_FLICKER] > 0.75f && score.values[MB_SCORE_CHARACTER] > 0.5f &&
                  score.values[MB_SCORE_LOCATION] == -1.0f,
              "frames %zu, flicker %f, character %f, location %f", score.frames, score.values[MB_SCORE_FLICKER],
              score.values[MB_SCORE_CHARACTER], score.values[MB_SCORE_LOCATION]);
        CHECK(std::strcmp(ScoreName(MB_SCORE_GRADE_MATCH), "grade match") == 0, "names");
        ShotScore missing = ScoreSequence(api, runtime, dir + "/nothing_%04d.png", {});
        CHECK(!missing.error.empty() && missing.error.find("nothing_") != std::string::npos, "%s",
              missing.error.c_str());
    }

    // A request the library refuses: Start says no; Poll says why.
    {
        Generation generation(api, generations);
        ShotSettings bad = settings;
        bad.width = 0;
        CHECK(!generation.Start(bad), "a zero-width shot is refused");
        auto events = generation.Poll();
        CHECK(events.size() == 1 && events[0].kind == GenerationEvent::Kind::Failed &&
                  events[0].text.find("width") != std::string::npos,
              "%s", events.empty() ? "no event" : events[0].text.c_str());
        CHECK(generation.GetState() == Generation::State::Failed, "failed");
    }

    // Cancelled when the player leaves (EndPlay): a long shot stops, and says so.
    {
        Generation generation(api, generations);
        ShotSettings long_shot = settings;
        long_shot.width = 1920;
        long_shot.height = 1080;
        long_shot.duration_seconds = 20.0;
        long_shot.first_frame = Still();
        long_shot.seed = 77;
        CHECK(generation.Start(long_shot), "the long shot starts");
        generation.Cancel();
        auto events = run(generation, 60);
        CHECK(generation.GetState() == Generation::State::Cancelled && !events.empty() &&
                  events.back().kind == GenerationEvent::Kind::Cancelled,
              "state %d", (int)generation.GetState());
    }

    // A generation destroyed while it runs (the game quits) frees cleanly.
    {
        Generation generation(api, generations);
        ShotSettings long_shot = settings;
        long_shot.width = 1280;
        long_shot.height = 720;
        long_shot.duration_seconds = 10.0;
        long_shot.seed = 78;
        CHECK(generation.Start(long_shot), "another long shot starts");
    }

    int64_t num = 0, den = 0;
    RateFraction(29.97, num, den);
    CHECK(num == 30000 && den == 1001, "29.97 is 30000/1001, not %lld/%lld", (long long)num, (long long)den);
    RateFraction(24.0, num, den);
    CHECK(num == 24000 && den == 1000, "24");

    api.generations_free(generations);
    api.runtime_free(runtime);
    std::printf("core_test: %d failure(s)\n", failures);
    return failures ? 1 : 0;
}
