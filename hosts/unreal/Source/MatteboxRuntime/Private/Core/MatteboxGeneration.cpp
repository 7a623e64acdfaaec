#include "MatteboxGeneration.h"

#include <cmath>

namespace MatteboxCore {

void RateFraction(double fps, int64_t& num, int64_t& den) {
    const double ntsc = fps * 1001.0 / 1000.0;
    if (std::fabs(ntsc - std::round(ntsc)) < 1e-3 && std::fabs(fps - std::round(fps)) > 1e-3) {
        num = static_cast<int64_t>(std::round(ntsc)) * 1000;
        den = 1001;
    } else {
        num = static_cast<int64_t>(std::llround(fps * 1000.0));
        den = 1000;
    }
}

Still StillFromBgra(const uint8_t* bgra, uint32_t width, uint32_t height) {
    Still still;
    still.width = width;
    still.height = height;
    const size_t pixels = static_cast<size_t>(width) * height;
    still.rgba.resize(pixels * 4);
    for (size_t i = 0; i < pixels; ++i) {
        still.rgba[i * 4 + 0] = bgra[i * 4 + 2];
        still.rgba[i * 4 + 1] = bgra[i * 4 + 1];
        still.rgba[i * 4 + 2] = bgra[i * 4 + 0];
        still.rgba[i * 4 + 3] = bgra[i * 4 + 3];
    }
    return still;
}

Generation::Generation(const Api& api, mb_generations* generations) : api_(api), generations_(generations) {}

Generation::~Generation() {
    // Frees the job: the library cancels what has not finished and waits for its threads.
    if (job_) api_.generation_free(job_);
}

bool Generation::Start(const ShotSettings& settings) {
    if (state_ != State::Idle) {
        pending_.push_back({GenerationEvent::Kind::Failed, -1, 0.0f, "this generation has already started"});
        return false;
    }
    mb_shot_request request;
    api_.shot_request_init(&request);
    request.prompt = settings.prompt.c_str();
    for (int i = 0; i < 6; ++i) request.camera[i] = settings.camera[i];
    request.duration_num = static_cast<int64_t>(std::llround(settings.duration_seconds * 1000.0));
    request.duration_den = 1000;
    RateFraction(settings.fps, request.fps_num, request.fps_den);
    request.width = settings.width;
    request.height = settings.height;
    request.seed = settings.seed;
    mb_image still;
    if (!settings.first_frame.rgba.empty()) {
        still.data = const_cast<uint8_t*>(settings.first_frame.rgba.data());
        still.size = settings.first_frame.rgba.size();
        still.width = settings.first_frame.width;
        still.height = settings.first_frame.height;
        still.stride = static_cast<size_t>(settings.first_frame.width) * 4;
        still.format = MB_PIXEL_FORMAT_RGBA8;
        request.first_frame = &still;
    }
    if (api_.generation_submit(generations_, "builtin", &request, settings.takes, &job_) != MB_RESULT_OK) {
        job_ = nullptr;
        Finish(State::Failed, {GenerationEvent::Kind::Failed, -1, 0.0f, api_.Error("the shot was refused")});
        return false;
    }
    uint32_t count = 0;
    api_.generation_take_count(job_, &count);
    told_.assign(count, -1.0f);
    over_.assign(count, false);
    dirs_.assign(count, std::string());
    state_ = State::Running;
    return true;
}

void Generation::Cancel() {
    if (state_ != State::Running) return;
    cancel_asked_ = true;
    api_.generation_cancel(job_);
}

void Generation::Finish(State state, GenerationEvent event) {
    state_ = state;
    pending_.push_back(std::move(event));
}

std::vector<GenerationEvent> Generation::Poll() {
    std::vector<GenerationEvent> events;
    events.swap(pending_);
    if (state_ != State::Running) return events;
    bool all_over = true, any_ready = false;
    std::string first_failure;
    for (uint32_t i = 0; i < told_.size(); ++i) {
        if (over_[i]) {
            any_ready = any_ready || !dirs_[i].empty();
            continue;
        }
        mb_take_status status;
        status.struct_size = sizeof status;
        if (api_.generation_status(job_, i, &status) != MB_RESULT_OK) {
            all_over = false;
            continue;
        }
        const int take = static_cast<int>(i);
        if (status.fraction > told_[i]) {
            told_[i] = status.fraction;
            events.push_back({GenerationEvent::Kind::Progress, take, status.fraction, std::string()});
        }
        if (status.stage == MB_TAKE_DONE) {
            over_[i] = true;
            char dir[4096];
            if (api_.generation_take_dir(job_, i, dir, sizeof dir) == MB_RESULT_OK) {
                dirs_[i] = dir;
                any_ready = true;
                events.push_back({GenerationEvent::Kind::TakeReady, take, 1.0f, dirs_[i]});
            } else {
                std::string why = api_.Error("the take's frames cannot be played");
                if (first_failure.empty()) first_failure = why;
                events.push_back({GenerationEvent::Kind::TakeFailed, take, 1.0f, why});
            }
        } else if (status.stage == MB_TAKE_FAILED || status.stage == MB_TAKE_CANCELLED) {
            over_[i] = true;
            if (status.stage == MB_TAKE_FAILED) {
                // The take's own error, as the library words it.
                char unused[8];
                api_.generation_take_dir(job_, i, unused, sizeof unused);
                std::string why = api_.Error(("take " + std::to_string(i + 1) + " failed").c_str());
                if (first_failure.empty()) first_failure = why;
                events.push_back({GenerationEvent::Kind::TakeFailed, take, status.fraction, why});
            }
        } else {
            all_over = false;
        }
    }
    if (all_over) {
        if (cancel_asked_) {
            Finish(State::Cancelled, {GenerationEvent::Kind::Cancelled, -1, 0.0f, "cancelled"});
        } else if (any_ready) {
            Finish(State::Completed, {GenerationEvent::Kind::Completed, -1, 1.0f, std::string()});
        } else {
            Finish(State::Failed, {GenerationEvent::Kind::Failed, -1, 0.0f,
                                   first_failure.empty() ? std::string("no take was made") : first_failure});
        }
        events.insert(events.end(), pending_.begin(), pending_.end());
        pending_.clear();
    }
    return events;
}

}  // namespace MatteboxCore
