// One "Generate Shot" as a state machine the game thread drives: Start
// submits the request to libmattebox (which generates on threads of its
// own), Poll reports what changed since the last tick as events, Cancel
// stops it. Engine-independent: the Blueprint node turns the events into
// its delegates, and CI runs this against the real library.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "MatteboxApi.h"

namespace MatteboxCore {

// An image, 8-bit RGBA, top row first.
struct Still {
    uint32_t width = 0;
    uint32_t height = 0;
    std::vector<uint8_t> rgba;
};

// What to generate.
struct ShotSettings {
    std::string prompt;
    // Camera move, each -1 to 1: truck, pedestal, pan, tilt, roll, push in.
    float camera[6] = {0, 0, 0, 0, 0, 0};
    double duration_seconds = 2.0;
    double fps = 24.0;
    uint32_t width = 1280;
    uint32_t height = 720;
    uint64_t seed = 0;
    uint32_t takes = 1;
    // The shot starts on this image (a render target's pixels); empty: none.
    Still first_frame;
};

struct GenerationEvent {
    enum class Kind {
        Progress,    // take, fraction
        TakeReady,   // take, text: the folder of its frames (an image sequence)
        TakeFailed,  // take, text: why
        Completed,   // every take ended, at least one ready
        Failed,      // text: why (the request, or every take)
        Cancelled,
    };
    Kind kind;
    int take = -1;
    float fraction = 0.0f;
    std::string text;
};

class Generation {
public:
    enum class State { Idle, Running, Completed, Failed, Cancelled };

    // `api` and `generations` must outlive the generation.
    Generation(const Api& api, mb_generations* generations);
    ~Generation();
    Generation(const Generation&) = delete;
    Generation& operator=(const Generation&) = delete;

    // Submits the shot. False when it is refused; the next Poll then
    // reports Failed with the reason.
    bool Start(const ShotSettings& settings);
    // Asks every unfinished take to stop; Poll reports Cancelled once they have.
    void Cancel();
    // What happened since the last call, in order. Call it on one thread.
    std::vector<GenerationEvent> Poll();
    State GetState() const { return state_; }
    // The folders of the takes, "" for one that is not ready.
    const std::vector<std::string>& TakeDirs() const { return dirs_; }

private:
    void Finish(State state, GenerationEvent event);

    const Api& api_;
    mb_generations* generations_;
    mb_generation* job_ = nullptr;
    State state_ = State::Idle;
    bool cancel_asked_ = false;
    std::vector<float> told_;
    std::vector<bool> over_;
    std::vector<std::string> dirs_;
    std::vector<GenerationEvent> pending_;
};

// An image from 8-bit B, G, R, A pixels (Unreal's FColor in memory, as a
// render target reads back), top row first.
Still StillFromBgra(const uint8_t* bgra, uint32_t width, uint32_t height);

// A frame rate as the exact fraction the C ABI takes: NTSC rates
// (23.976, 29.97, 59.94) as N*1000/1001, others to a thousandth.
void RateFraction(double fps, int64_t& num, int64_t& den);

}  // namespace MatteboxCore
