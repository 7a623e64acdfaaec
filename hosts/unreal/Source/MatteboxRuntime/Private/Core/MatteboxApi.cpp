#include "MatteboxApi.h"

namespace MatteboxCore {

std::string Api::Error(const char* what) const {
    std::string message = what;
    const char* why = last_error_message ? last_error_message() : nullptr;
    if (why && *why) {
        message += ": ";
        message += why;
    }
    return message;
}

namespace {

template <typename F>
bool Resolve(Resolver resolve, void* library, const char* name, F& slot, std::string& missing) {
    slot = reinterpret_cast<F>(resolve(library, name));
    if (slot) return true;
    if (!missing.empty()) missing += ", ";
    missing += name;
    return false;
}

std::string Version(uint32_t abi) {
    return std::to_string(abi >> 16) + "." + std::to_string(abi & 0xffff);
}

}  // namespace

std::string Bind(Resolver resolve, void* library, const std::string& where, Api& api) {
    if (!resolve || !library) return "libmattebox is not loaded (looked for " + where + ")";
    api = Api{};
    std::string missing;
    // The version first: an older or newer library may lack later symbols,
    // and its version says why better than a missing name does.
    if (Resolve(resolve, library, "mb_abi_version", api.abi_version, missing)) {
        const uint32_t got = api.abi_version();
        const uint32_t want = MB_ABI_VERSION;
        if ((got >> 16) != (want >> 16) || (got & 0xffff) < (want & 0xffff)) {
            api = Api{};
            return where + " speaks the Mattebox C ABI " + Version(got) + ", but this plugin was built for " +
                   Version(want) + " (or a later " + std::to_string(want >> 16) +
                   ".x): install the libmattebox that came with this plugin";
        }
    }
    Resolve(resolve, library, "mb_version", api.version, missing);
    Resolve(resolve, library, "mb_last_error_message", api.last_error_message, missing);
    Resolve(resolve, library, "mb_runtime_options_init", api.runtime_options_init, missing);
    Resolve(resolve, library, "mb_runtime_new", api.runtime_new, missing);
    Resolve(resolve, library, "mb_runtime_free", api.runtime_free, missing);
    Resolve(resolve, library, "mb_generations_new", api.generations_new, missing);
    Resolve(resolve, library, "mb_generations_free", api.generations_free, missing);
    Resolve(resolve, library, "mb_shot_request_init", api.shot_request_init, missing);
    Resolve(resolve, library, "mb_generation_submit", api.generation_submit, missing);
    Resolve(resolve, library, "mb_generation_take_count", api.generation_take_count, missing);
    Resolve(resolve, library, "mb_generation_status", api.generation_status, missing);
    Resolve(resolve, library, "mb_generation_cancel", api.generation_cancel, missing);
    Resolve(resolve, library, "mb_generation_take_dir", api.generation_take_dir, missing);
    Resolve(resolve, library, "mb_generation_free", api.generation_free, missing);
    Resolve(resolve, library, "mb_media_open", api.media_open, missing);
    Resolve(resolve, library, "mb_media_get_info", api.media_get_info, missing);
    Resolve(resolve, library, "mb_media_read_frame", api.media_read_frame, missing);
    Resolve(resolve, library, "mb_media_close", api.media_close, missing);
    Resolve(resolve, library, "mb_shot_scorer_new", api.shot_scorer_new, missing);
    Resolve(resolve, library, "mb_shot_scorer_add_reference", api.shot_scorer_add_reference, missing);
    Resolve(resolve, library, "mb_shot_scorer_push", api.shot_scorer_push, missing);
    Resolve(resolve, library, "mb_shot_scorer_finish", api.shot_scorer_finish, missing);
    Resolve(resolve, library, "mb_shot_scorer_free", api.shot_scorer_free, missing);
    Resolve(resolve, library, "mb_shot_scores_value", api.shot_scores_value, missing);
    Resolve(resolve, library, "mb_shot_scores_free", api.shot_scores_free, missing);
    if (!missing.empty()) {
        api = Api{};
        return where + " is not a Mattebox library this plugin can use: it lacks " + missing +
               " (install the libmattebox that came with this plugin)";
    }
    return std::string();
}

}  // namespace MatteboxCore
