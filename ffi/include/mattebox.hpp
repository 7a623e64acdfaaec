// mattebox.hpp: a header-only C++17 RAII wrapper over the Mattebox C ABI.
//
// Handles free themselves; every fallible call returns either an `Error`
// (falsy on success) or a `Result<T>` holding a value or an error, so the
// wrapper works in code built with -fno-exceptions (Unreal, many plugins).
// When exceptions are enabled, `Result<T>::value()` throws
// `mattebox::Exception` on error; without them it prints the error and aborts.
// Check `ok()` first to avoid both.
//
//   auto runtime = mattebox::Runtime::create();
//   if (!runtime) { std::fprintf(stderr, "%s\n", runtime.error().message().c_str()); return 1; }
//   auto media = mattebox::Media::open(*runtime, "clip.mp4");
//
// Link with -lmattebox. See ffi/README.md for the conventions of the C ABI.

#ifndef MATTEBOX_HPP
#define MATTEBOX_HPP

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#if defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND)
#include <exception>
#define MATTEBOX_HPP_EXCEPTIONS 1
#else
#define MATTEBOX_HPP_EXCEPTIONS 0
#endif

#include "mattebox.h"

namespace mattebox {

// A failed call: the code and the message from mb_last_error_message().
// Converts to true when it holds an error.
class Error {
public:
    Error() = default;
    Error(mb_result code, std::string message) : code_(code), message_(std::move(message)) {}

    // Captures this thread's last error for `code` (MB_RESULT_OK gives no error).
    static Error from_last(mb_result code) {
        if (code == MB_RESULT_OK) return Error();
        return Error(code, mb_last_error_message());
    }

    mb_result code() const { return code_; }
    const std::string& message() const { return message_; }
    const char* code_name() const { return mb_result_name(static_cast<uint32_t>(code_)); }
    explicit operator bool() const { return code_ != MB_RESULT_OK; }

private:
    mb_result code_ = MB_RESULT_OK;
    std::string message_;
};

#if MATTEBOX_HPP_EXCEPTIONS
// Thrown by Result<T>::value() when exceptions are enabled.
class Exception : public std::exception {
public:
    explicit Exception(Error error) : error_(std::move(error)) {}
    const char* what() const noexcept override { return error_.message().c_str(); }
    const Error& error() const { return error_; }

private:
    Error error_;
};
#endif

[[noreturn]] inline void fail(const Error& error) {
#if MATTEBOX_HPP_EXCEPTIONS
    throw Exception(error);
#else
    std::fprintf(stderr, "mattebox: %s: %s\n", error.code_name(), error.message().c_str());
    std::abort();
#endif
}

// A value or an error.
template <class T>
class Result {
public:
    Result(T value) : value_(std::move(value)) {}
    Result(Error error) : error_(std::move(error)) {}

    bool ok() const { return value_.has_value(); }
    explicit operator bool() const { return ok(); }
    const Error& error() const { return error_; }

    // The value; on error throws (with exceptions) or aborts (without).
    T& value() & {
        if (!ok()) fail(error_);
        return *value_;
    }
    T&& value() && {
        if (!ok()) fail(error_);
        return std::move(*value_);
    }
    // Unchecked access: only after ok() returned true.
    T& operator*() { return *value_; }
    T* operator->() { return &*value_; }

private:
    std::optional<T> value_;
    Error error_;
};

namespace detail {
// An owned C handle, released with `Free`: move-only, NULL once moved from.
template <class T, void (*Free)(T*)>
class Handle {
public:
    Handle() = default;
    explicit Handle(T* raw) : raw_(raw) {}
    Handle(Handle&& other) noexcept : raw_(std::exchange(other.raw_, nullptr)) {}
    Handle& operator=(Handle&& other) noexcept {
        if (this != &other) {
            Free(raw_);
            raw_ = std::exchange(other.raw_, nullptr);
        }
        return *this;
    }
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    ~Handle() { Free(raw_); }

    T* get() const { return raw_; }

private:
    T* raw_ = nullptr;
};
}  // namespace detail

// Whether the loaded library speaks the ABI this header describes.
inline bool abi_compatible() { return (mb_abi_version() >> 16) == (MB_ABI_VERSION >> 16); }

inline std::string version() { return mb_version(); }

// Describes host memory as an mb_image. Mattebox never keeps the pointer.
inline mb_image image(void* data, size_t size, uint32_t width, uint32_t height, size_t stride,
                      mb_pixel_format format) {
    mb_image img;
    img.data = data;
    img.size = size;
    img.width = width;
    img.height = height;
    img.stride = stride;
    img.format = format;
    return img;
}

// The runtime: one per host (or per plugin instance). Move-only.
class Runtime {
public:
    // `options` may be null for the defaults (all cores, warnings to stderr).
    static Result<Runtime> create(const mb_runtime_options* options = nullptr) {
        mb_runtime* raw = nullptr;
        mb_result code = mb_runtime_new(options, &raw);
        if (code != MB_RESULT_OK) return Error::from_last(code);
        return Runtime(raw);
    }


    mb_runtime* get() const { return raw_.get(); }

    uint32_t threads() const {
        uint32_t n = 0;
        mb_runtime_threads(raw_.get(), &n);
        return n;
    }

    // Converts `src` into `dst` (same size; any formats and strides).
    Error convert(const mb_image& src, const mb_image& dst) const {
        return Error::from_last(mb_frame_convert(raw_.get(), &src, &dst));
    }

    // Writes the frame at time t between `a` and `b` into `out`.
    Error interpolate(const mb_image& a, const mb_image& b, float t, mb_interp_mode mode, const mb_image& out) const {
        return Error::from_last(mb_interpolate(raw_.get(), &a, &b, t, mode, &out));
    }

    // Keys `plate` into `matte_out` (grey, matte also in alpha); returns the screen found.
    Result<mb_screen_info> key(const mb_image& plate, const mb_key_options& options, const mb_image& matte_out) const {
        mb_screen_info screen{};
        mb_result code = mb_key(raw_.get(), &plate, &options, &matte_out, &screen);
        if (code != MB_RESULT_OK) return Error::from_last(code);
        return screen;
    }

    // Whether `a` and `b` look like the two sides of a scene cut.
    Result<bool> is_cut(const mb_image& a, const mb_image& b) const {
        uint32_t cut = 0;
        mb_result code = mb_frames_are_cut(raw_.get(), &a, &b, &cut);
        if (code != MB_RESULT_OK) return Error::from_last(code);
        return cut != 0;
    }

private:
    explicit Runtime(mb_runtime* raw) : raw_(raw) {}
    detail::Handle<mb_runtime, mb_runtime_free> raw_;
};

// An open video file, image sequence or still. Move-only.
class Media {
public:
    static Result<Media> open(const Runtime& runtime, const std::string& path) {
        mb_media* raw = nullptr;
        mb_result code = mb_media_open(runtime.get(), path.c_str(), &raw);
        if (code != MB_RESULT_OK) return Error::from_last(code);
        Media media(raw);
        media.info_.struct_size = sizeof(mb_media_info);
        code = mb_media_get_info(raw, &media.info_);
        if (code != MB_RESULT_OK) return Error::from_last(code);
        return media;
    }


    mb_media* get() const { return raw_.get(); }
    const mb_media_info& info() const { return info_; }
    uint32_t width() const { return info_.width; }
    uint32_t height() const { return info_.height; }
    uint64_t frame_count() const { return info_.frame_count; }
    double frame_rate() const { return double(info_.frame_rate_num) / double(info_.frame_rate_den); }
    std::string codec() const {
        const char* name = mb_media_codec_name(raw_.get());
        return name ? name : "";
    }

    // Decodes frame `index` into host memory of the media's size.
    Error read_frame(uint64_t index, const mb_image& dst) {
        return Error::from_last(mb_media_read_frame(raw_.get(), index, &dst));
    }

    // Decodes frame `index` into a new tightly packed RGBA8 buffer.
    Result<std::vector<uint8_t>> read_frame_rgba8(uint64_t index) {
        const size_t stride = size_t(info_.width) * 4;
        std::vector<uint8_t> pixels(stride * info_.height);
        Error error = read_frame(index, image(pixels.data(), pixels.size(), info_.width, info_.height, stride,
                                              MB_PIXEL_FORMAT_RGBA8));
        if (error) return error;
        return pixels;
    }

private:
    friend class Generation;
    explicit Media(mb_media* raw) : raw_(raw) {}
    detail::Handle<mb_media, mb_media_close> raw_;
    mb_media_info info_{};
};

// A shot request with the defaults (2 s at 24 fps, 1280x720, seed 0);
// change fields, then submit it.
inline mb_shot_request shot_request() {
    mb_shot_request request;
    mb_shot_request_init(&request);
    return request;
}

// A running request for takes. Freeing it cancels what has not finished.
// Move-only.
class Generation {
public:

    uint32_t take_count() const {
        uint32_t n = 0;
        mb_generation_take_count(raw_.get(), &n);
        return n;
    }

    Result<mb_take_status> status(uint32_t take) const {
        mb_take_status status{};
        status.struct_size = sizeof(mb_take_status);
        mb_result code = mb_generation_status(raw_.get(), take, &status);
        if (code != MB_RESULT_OK) return Error::from_last(code);
        return status;
    }

    // Waits up to `timeout_ms` (0: only checks); true once every take ended.
    bool wait(uint32_t timeout_ms) const {
        uint32_t finished = 0;
        mb_generation_wait(raw_.get(), timeout_ms, &finished);
        return finished != 0;
    }

    void cancel() const { mb_generation_cancel(raw_.get()); }

    // A finished take's frames.
    Result<Media> open_take(uint32_t take) const {
        mb_media* raw = nullptr;
        mb_result code = mb_generation_open_take(raw_.get(), take, &raw);
        if (code != MB_RESULT_OK) return Error::from_last(code);
        Media media(raw);
        media.info_.struct_size = sizeof(mb_media_info);
        code = mb_media_get_info(raw, &media.info_);
        if (code != MB_RESULT_OK) return Error::from_last(code);
        return media;
    }

    // The folder of a finished take's frames (an image sequence), for
    // players of image sequences such as Unreal's ImgMediaSource.
    Result<std::string> take_dir(uint32_t take) const {
        std::string dir(4096, '\0');
        mb_result code = mb_generation_take_dir(raw_.get(), take, dir.data(), dir.size());
        if (code != MB_RESULT_OK) return Error::from_last(code);
        dir.resize(std::strlen(dir.c_str()));
        return dir;
    }

    // The path of a finished take's sound (a 16-bit PCM WAV), when its
    // generator gave one; MB_RESULT_NOT_FOUND otherwise. ABI 1.10.
    Result<std::string> take_audio(uint32_t take) const {
        std::string path(4096, '\0');
        mb_result code = mb_generation_take_audio(raw_.get(), take, path.data(), path.size());
        if (code != MB_RESULT_OK) return Error::from_last(code);
        path.resize(std::strlen(path.c_str()));
        return path;
    }

private:
    friend class Generations;
    explicit Generation(mb_generation* raw) : raw_(raw) {}
    detail::Handle<mb_generation, mb_generation_free> raw_;
};

// The generation service of a runtime: the built-in generator and the
// adapters loaded into it. Move-only.
class Generations {
public:
    static Result<Generations> create(const Runtime& runtime) {
        mb_generations* raw = nullptr;
        mb_result code = mb_generations_new(runtime.get(), &raw);
        if (code != MB_RESULT_OK) return Error::from_last(code);
        return Generations(raw);
    }


    // Loads the adapter in directory `path` (with its adapter.toml), for
    // hosts that manage adapter folders; never a path from a document.
    Error load_adapter(const std::string& path) const {
        return Error::from_last(mb_generations_load_adapter(raw_.get(), path.c_str()));
    }

    // Loads the adapter installed as `id` (an id, never a path).
    Error load_installed(const std::string& id) const {
        return Error::from_last(mb_generations_load_installed(raw_.get(), id.c_str()));
    }

    // Starts `takes` takes of `request` from `generator` ("builtin" or an adapter's id).
    Result<Generation> submit(const std::string& generator, const mb_shot_request& request, uint32_t takes) const {
        mb_generation* raw = nullptr;
        mb_result code = mb_generation_submit(raw_.get(), generator.c_str(), &request, takes, &raw);
        if (code != MB_RESULT_OK) return Error::from_last(code);
        return Generation(raw);
    }

    // The take-cache key take `take` of `request` from `generator` has once
    // made, read as `submit` reads the request. ABI 1.11.
    Result<std::string> take_key(const std::string& generator, const mb_shot_request& request, uint32_t take) const {
        std::string key(256, '\0');
        mb_result code = mb_generation_take_key(raw_.get(), generator.c_str(), &request, take, key.data(), key.size());
        if (code != MB_RESULT_OK) return Error::from_last(code);
        key.resize(std::strlen(key.c_str()));
        return key;
    }

private:
    explicit Generations(mb_generations* raw) : raw_(raw) {}
    detail::Handle<mb_generations, mb_generations_free> raw_;
};

// An episode's shots and the take each one uses in the edit (the director's
// pick, else the best ranked), as saved when it was opened: open it again
// to see later picks. Move-only.
class Episode {
public:
    static Result<Episode> open(const std::string& path) {
        mb_episode* raw = nullptr;
        mb_result code = mb_episode_open(path.c_str(), &raw);
        if (code != MB_RESULT_OK) return Error::from_last(code);
        return Episode(raw);
    }

    uint32_t shot_count() const {
        uint32_t n = 0;
        mb_episode_shot_count(raw_.get(), &n);
        return n;
    }

    // The take shot `shot` (from 0) uses; chosen_by is MB_EPISODE_CHOSEN_NONE if none.
    Result<mb_episode_take> chosen_take(uint32_t shot) const {
        mb_episode_take take{};
        take.struct_size = sizeof(mb_episode_take);
        mb_result code = mb_episode_chosen_take(raw_.get(), shot, &take);
        if (code != MB_RESULT_OK) return Error::from_last(code);
        return take;
    }

    // One of MB_EPISODE_TEXT_*: the shot's id, the take's key, the folder of
    // its frames, its prompt, the reason for its rank.
    Result<std::string> text(uint32_t shot, uint32_t what) const {
        for (size_t size : {size_t(4096), size_t(1) << 20}) {
            std::string value(size, '\0');
            mb_result code = mb_episode_take_text(raw_.get(), shot, what, value.data(), value.size());
            if (code == MB_RESULT_OK) {
                value.resize(std::strlen(value.c_str()));
                return value;
            }
            if (code != MB_RESULT_INVALID_ARGUMENT || size > 4096) return Error::from_last(code);
        }
        return Error::from_last(MB_RESULT_INVALID_ARGUMENT);
    }

private:
    explicit Episode(mb_episode* raw) : raw_(raw) {}
    detail::Handle<mb_episode, mb_episode_free> raw_;
};

// Optical flow both ways between two frames, for any number of in-between
// frames. Move-only.
class FlowPair {
public:
    static Result<FlowPair> compute(const Runtime& runtime, const mb_image& a, const mb_image& b,
                                    mb_interp_mode mode = MB_INTERP_MODE_QUALITY) {
        mb_flow_pair* raw = nullptr;
        mb_result code = mb_flow_pair_new(runtime.get(), &a, &b, mode, &raw);
        if (code != MB_RESULT_OK) return Error::from_last(code);
        return FlowPair(raw);
    }


    // The frame at time t between the same `a` and `b`, into `out`.
    Error interpolate(const Runtime& runtime, const mb_image& a, const mb_image& b, float t,
                      const mb_image& out) const {
        return Error::from_last(mb_flow_pair_interpolate(runtime.get(), raw_.get(), &a, &b, t, &out));
    }

private:
    explicit FlowPair(mb_flow_pair* raw) : raw_(raw) {}
    detail::Handle<mb_flow_pair, mb_flow_pair_free> raw_;
};

// Default key options (automatic screen), ready to change.
inline mb_key_options key_options() {
    mb_key_options options{};
    mb_key_options_init(&options);
    return options;
}

// Default composite options, ready to change.
inline mb_composite_options composite_options() {
    mb_composite_options options{};
    mb_composite_options_init(&options);
    return options;
}

// One shot's composite: render its frames in order. Move-only; one thread at a time.
class Compositor {
public:
    // Keys each plate frame itself with `key`.
    static Result<Compositor> keyed(const mb_key_options& key, const mb_composite_options& options) {
        return make(&key, options);
    }
    // Uses the matte the host passes to each render.
    static Result<Compositor> with_host_matte(const mb_composite_options& options) { return make(nullptr, options); }

    // Keeps the person solid inside the screen key (the model found as for
    // MB_SCREEN_PERSON); before the first render. ABI 1.13.
    Error keep_person() { return Error::from_last(mb_compositor_keep_person(raw_.get())); }

    // The next frame: `plate` (with `matte`, or null when keyed) over `background` into `out`.
    Error render(const Runtime& runtime, const mb_image& plate, const mb_image* matte, const mb_image& background,
                 const mb_image& out) {
        return Error::from_last(mb_compositor_render(runtime.get(), raw_.get(), &plate, matte, &background, &out));
    }

    // The screen keyed against, once a frame has been rendered.
    Result<mb_screen_info> screen() const {
        mb_screen_info info{};
        mb_result code = mb_compositor_screen(raw_.get(), &info);
        if (code != MB_RESULT_OK) return Error::from_last(code);
        return info;
    }

private:
    static Result<Compositor> make(const mb_key_options* key, const mb_composite_options& options) {
        mb_compositor* raw = nullptr;
        mb_result code = mb_compositor_new(key, &options, &raw);
        if (code != MB_RESULT_OK) return Error::from_last(code);
        return Compositor(raw);
    }
    explicit Compositor(mb_compositor* raw) : raw_(raw) {}
    detail::Handle<mb_compositor, mb_compositor_free> raw_;
};

// Which source frames and t make each output frame of a retime. Move-only.
class RetimePlan {
public:
    // Converts `frames` source frames at `source_num/source_den` fps to `rate_num/rate_den` fps.
    static Result<RetimePlan> frame_rate(int64_t source_num, int64_t source_den, uint64_t frames, int64_t rate_num,
                                         int64_t rate_den) {
        mb_retime_request request = base(source_num, source_den, frames);
        request.kind = MB_RETIME_FRAME_RATE;
        request.value_num = rate_num;
        request.value_den = rate_den;
        return make(request);
    }

    // Plays at the constant speed `speed_num/speed_den` (1/4 = 4x slow motion).
    static Result<RetimePlan> speed(int64_t source_num, int64_t source_den, uint64_t frames, int64_t speed_num,
                                    int64_t speed_den) {
        mb_retime_request request = base(source_num, source_den, frames);
        request.kind = MB_RETIME_SPEED;
        request.value_num = speed_num;
        request.value_den = speed_den;
        return make(request);
    }

    // Plays at the speeds of a curve (keys in output seconds, time order).
    static Result<RetimePlan> curve(int64_t source_num, int64_t source_den, uint64_t frames,
                                    const std::vector<mb_speed_key>& keys) {
        mb_retime_request request = base(source_num, source_den, frames);
        request.kind = MB_RETIME_CURVE;
        request.curve = keys.data();
        request.curve_len = keys.size();
        return make(request);
    }

    uint64_t frames() const { return frames_; }
    int64_t rate_num() const { return rate_num_; }
    int64_t rate_den() const { return rate_den_; }

    Result<mb_planned_frame> frame(uint64_t index) const {
        mb_planned_frame planned{};
        mb_result code = mb_retime_plan_frame(raw_.get(), index, &planned);
        if (code != MB_RESULT_OK) return Error::from_last(code);
        return planned;
    }

private:
    explicit RetimePlan(mb_retime_plan* raw) : raw_(raw) {
        mb_retime_plan_info(raw_.get(), &frames_, &rate_num_, &rate_den_);
    }
    static mb_retime_request base(int64_t source_num, int64_t source_den, uint64_t frames) {
        mb_retime_request request{};
        request.struct_size = sizeof(mb_retime_request);
        request.source_rate_num = source_num;
        request.source_rate_den = source_den;
        request.source_frames = frames;
        return request;
    }
    static Result<RetimePlan> make(const mb_retime_request& request) {
        mb_retime_plan* raw = nullptr;
        mb_result code = mb_retime_plan_new(&request, &raw);
        if (code != MB_RESULT_OK) return Error::from_last(code);
        return RetimePlan(raw);
    }
    detail::Handle<mb_retime_plan, mb_retime_plan_free> raw_;
    uint64_t frames_ = 0;
    int64_t rate_num_ = 0;
    int64_t rate_den_ = 1;
};

// One shot's retime rendered frame by frame as `mattebox retime` renders it:
// the plan, the whole-clip cut policy and the flow pairs. Move-only; one
// retimer may render frames of its shot from several threads at once.
class ShotRetimer {
public:
    // `request` as for `mb_retime_plan_new`; in-between frames by `mode` (MB_INTERP_MODE_*).
    static Result<ShotRetimer> make(const mb_retime_request& request, mb_interp_mode mode) {
        mb_shot_retimer* raw = nullptr;
        mb_result code = mb_shot_retimer_new(&request, mode, &raw);
        if (code != MB_RESULT_OK) return Error::from_last(code);
        return ShotRetimer(raw);
    }

    uint64_t frames() const { return frames_; }
    int64_t rate_num() const { return rate_num_; }
    int64_t rate_den() const { return rate_den_; }

    // The source frames output frame `index` reads: (first, count).
    Result<std::pair<uint64_t, uint64_t>> frames_needed(uint64_t index) const {
        uint64_t first = 0, count = 0;
        mb_result code = mb_shot_retimer_frames_needed(raw_.get(), index, &first, &count);
        if (code != MB_RESULT_OK) return Error::from_last(code);
        return std::make_pair(first, count);
    }

    // Output frame `index` into `out`, from exactly the frames `frames_needed` named.
    Result<mb_retime_step> render(const Runtime& runtime, uint64_t index, const std::vector<mb_image>& sources,
                                  const mb_image& out) const {
        mb_retime_step step = 0;
        mb_result code = mb_shot_retimer_render(runtime.get(), raw_.get(), index, sources.data(), sources.size(),
                                                &out, &step);
        if (code != MB_RESULT_OK) return Error::from_last(code);
        return step;
    }

private:
    explicit ShotRetimer(mb_shot_retimer* raw) : raw_(raw) {
        mb_shot_retimer_info(raw_.get(), &frames_, &rate_num_, &rate_den_);
    }
    detail::Handle<mb_shot_retimer, mb_shot_retimer_free> raw_;
    uint64_t frames_ = 0;
    int64_t rate_num_ = 0;
    int64_t rate_den_ = 1;
};

// A scored shot: shot-level scores, per-frame curves, the HTML report. Move-only.
class ShotScores {
public:
    size_t frame_count() const { return mb_shot_scores_frame_count(raw_.get()); }

    // The shot's `metric` (MB_SCORE_*); -1 for a reference score without references of its kind.
    Result<float> value(mb_score metric) const {
        float v = 0.0f;
        mb_result code = mb_shot_scores_value(raw_.get(), metric, &v);
        if (code != MB_RESULT_OK) return Error::from_last(code);
        return v;
    }

    // `metric` per frame.
    Result<std::vector<float>> curve(mb_score metric) const {
        std::vector<float> values(frame_count());
        mb_result code = mb_shot_scores_curve(raw_.get(), metric, values.data(), values.size());
        if (code != MB_RESULT_OK) return Error::from_last(code);
        return values;
    }

    // Writes the self-contained HTML report to `path` (replacing it).
    Error write_html(const std::string& path, const std::string& title = "Mattebox consistency report") const {
        return Error::from_last(mb_shot_scores_write_html(raw_.get(), path.c_str(), title.c_str()));
    }

private:
    friend class ShotScorer;
    explicit ShotScores(mb_shot_scores* raw) : raw_(raw) {}
    detail::Handle<mb_shot_scores, mb_shot_scores_free> raw_;
};

// Scores shots pushed frame by frame, against reference frames. Move-only.
class ShotScorer {
public:
    static Result<ShotScorer> create() {
        mb_shot_scorer* raw = nullptr;
        mb_result code = mb_shot_scorer_new(&raw);
        if (code != MB_RESULT_OK) return Error::from_last(code);
        return ShotScorer(raw);
    }

    // A reference frame of `kind` (MB_REFERENCE_*) for every shot from now on.
    Error add_reference(const Runtime& runtime, mb_reference_kind kind, const mb_image& image) const {
        return Error::from_last(mb_shot_scorer_add_reference(runtime.get(), raw_.get(), kind, &image));
    }

    // The shot's next frame.
    Error push(const Runtime& runtime, const mb_image& frame) const {
        return Error::from_last(mb_shot_scorer_push(runtime.get(), raw_.get(), &frame));
    }

    // Ends the shot and scores it; the scorer starts over, keeping its references.
    Result<ShotScores> finish() const {
        mb_shot_scores* raw = nullptr;
        mb_result code = mb_shot_scorer_finish(raw_.get(), &raw);
        if (code != MB_RESULT_OK) return Error::from_last(code);
        return ShotScores(raw);
    }

private:
    explicit ShotScorer(mb_shot_scorer* raw) : raw_(raw) {}
    detail::Handle<mb_shot_scorer, mb_shot_scorer_free> raw_;
};

}  // namespace mattebox

#endif  // MATTEBOX_HPP
