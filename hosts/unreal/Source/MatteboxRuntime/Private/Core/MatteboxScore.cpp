#include "MatteboxScore.h"

#include <cstdint>

namespace MatteboxCore {

const char* ScoreName(mb_score metric) {
    static const char* const names[MB_SCORE_COUNT] = {"subject",    "background", "flicker",  "boiling",
                                                      "grade",      "smoothness", "character", "location",
                                                      "grade match", "style match"};
    return metric < MB_SCORE_COUNT ? names[metric] : "unknown";
}

namespace {

// A media handle of the library, closed when it goes.
struct Media {
    explicit Media(const Api& a) : api(a) {}
    Media(const Media&) = delete;
    Media& operator=(const Media&) = delete;

    const Api& api;
    mb_media* raw = nullptr;
    mb_media_info info{};
    std::vector<uint8_t> pixels;
    mb_image image{};

    ~Media() {
        if (raw) api.media_close(raw);
    }

    bool Open(mb_runtime* runtime, const std::string& path) {
        if (api.media_open(runtime, path.c_str(), &raw) != MB_RESULT_OK) return false;
        info.struct_size = sizeof info;
        if (api.media_get_info(raw, &info) != MB_RESULT_OK) return false;
        pixels.resize(static_cast<size_t>(info.width) * info.height * 4);
        image.data = pixels.data();
        image.size = pixels.size();
        image.width = info.width;
        image.height = info.height;
        image.stride = static_cast<size_t>(info.width) * 4;
        image.format = MB_PIXEL_FORMAT_RGBA8;
        return true;
    }

    // Frame `index` into `image`, as RGBA8.
    bool Read(uint64_t index) { return api.media_read_frame(raw, index, &image) == MB_RESULT_OK; }
};

// The scorer, freed when it goes.
struct Scorer {
    explicit Scorer(const Api& a) : api(a) {}
    Scorer(const Scorer&) = delete;
    Scorer& operator=(const Scorer&) = delete;

    const Api& api;
    mb_shot_scorer* raw = nullptr;
    ~Scorer() {
        if (raw) api.shot_scorer_free(raw);
    }
};

}  // namespace

ShotScore ScoreSequence(const Api& api, mb_runtime* runtime, const std::string& sequence,
                        const std::vector<std::pair<mb_reference_kind, std::string>>& references) {
    ShotScore result;
    Scorer scorer(api);
    if (api.shot_scorer_new(&scorer.raw) != MB_RESULT_OK) {
        result.error = api.Error("cannot make a scorer");
        return result;
    }
    for (const auto& [kind, path] : references) {
        // A reference is a still: its first frame.
        Media reference(api);
        if (!reference.Open(runtime, path) || !reference.Read(0) ||
            api.shot_scorer_add_reference(runtime, scorer.raw, kind, &reference.image) != MB_RESULT_OK) {
            result.error = api.Error(("reference " + path).c_str());
            return result;
        }
    }
    Media shot(api);
    if (!shot.Open(runtime, sequence)) {
        result.error = api.Error(("cannot open " + sequence).c_str());
        return result;
    }
    for (uint64_t i = 0; i < shot.info.frame_count; ++i) {
        if (!shot.Read(i) || api.shot_scorer_push(runtime, scorer.raw, &shot.image) != MB_RESULT_OK) {
            result.error = api.Error((sequence + ", frame " + std::to_string(i)).c_str());
            return result;
        }
    }
    mb_shot_scores* scores = nullptr;
    if (api.shot_scorer_finish(scorer.raw, &scores) != MB_RESULT_OK) {
        result.error = api.Error(sequence.c_str());
        return result;
    }
    result.frames = static_cast<size_t>(shot.info.frame_count);
    for (mb_score metric = 0; metric < MB_SCORE_COUNT; ++metric) {
        api.shot_scores_value(scores, metric, &result.values[metric]);
    }
    api.shot_scores_free(scores);
    return result;
}

}  // namespace MatteboxCore
