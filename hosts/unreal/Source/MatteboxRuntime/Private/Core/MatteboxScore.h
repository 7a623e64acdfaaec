// Scores a rendered image sequence (Movie Render Queue's output, say) the
// way `mattebox score` does, against reference images of the character,
// the location and the look. Engine-independent.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "MatteboxApi.h"

namespace MatteboxCore {

struct ShotScore {
    // Empty on success, else what went wrong, naming the file.
    std::string error;
    size_t frames = 0;
    // Indexed by MB_SCORE_*: 0 to 1, higher is better; -1 for a reference
    // score without a reference of that kind.
    float values[MB_SCORE_COUNT] = {};
};

// Scores the frames of `sequence` (a folder of numbered images, or a
// pattern such as `Shot.%04d.png`) against `references` (a kind,
// MB_REFERENCE_*, and an image file each).
ShotScore ScoreSequence(const Api& api, mb_runtime* runtime, const std::string& sequence,
                        const std::vector<std::pair<mb_reference_kind, std::string>>& references);

// The name of score `metric` ("subject", "character"...).
const char* ScoreName(mb_score metric);

}  // namespace MatteboxCore
