// The C ABI of libmattebox as the plugin uses it: the functions resolved
// from the library the plugin loaded at start-up, and the check that the
// library speaks the ABI this plugin was built for. Engine-independent
// (no Unreal types): CI compiles and runs it against the real library.
#pragma once

#include <string>

#include "mattebox.h"

namespace MatteboxCore {

// Every function the plugin calls, resolved by name from the loaded library.
struct Api {
    decltype(&mb_abi_version) abi_version = nullptr;
    decltype(&mb_version) version = nullptr;
    decltype(&mb_last_error_message) last_error_message = nullptr;
    decltype(&mb_runtime_options_init) runtime_options_init = nullptr;
    decltype(&mb_runtime_new) runtime_new = nullptr;
    decltype(&mb_runtime_free) runtime_free = nullptr;
    decltype(&mb_generations_new) generations_new = nullptr;
    decltype(&mb_generations_free) generations_free = nullptr;
    decltype(&mb_shot_request_init) shot_request_init = nullptr;
    decltype(&mb_generation_submit) generation_submit = nullptr;
    decltype(&mb_generation_take_count) generation_take_count = nullptr;
    decltype(&mb_generation_status) generation_status = nullptr;
    decltype(&mb_generation_cancel) generation_cancel = nullptr;
    decltype(&mb_generation_take_dir) generation_take_dir = nullptr;
    decltype(&mb_generation_free) generation_free = nullptr;
    decltype(&mb_media_open) media_open = nullptr;
    decltype(&mb_media_get_info) media_get_info = nullptr;
    decltype(&mb_media_read_frame) media_read_frame = nullptr;
    decltype(&mb_media_close) media_close = nullptr;
    decltype(&mb_shot_scorer_new) shot_scorer_new = nullptr;
    decltype(&mb_shot_scorer_add_reference) shot_scorer_add_reference = nullptr;
    decltype(&mb_shot_scorer_push) shot_scorer_push = nullptr;
    decltype(&mb_shot_scorer_finish) shot_scorer_finish = nullptr;
    decltype(&mb_shot_scorer_free) shot_scorer_free = nullptr;
    decltype(&mb_shot_scores_value) shot_scores_value = nullptr;
    decltype(&mb_shot_scores_free) shot_scores_free = nullptr;

    // The last failing call's message on this thread, with `what` before it.
    std::string Error(const char* what) const;
};

// Finds a symbol of the loaded library; nullptr when it has none. Unreal
// passes FPlatformProcess::GetDllExport, tests dlsym.
using Resolver = void* (*)(void* library, const char* name);

// Resolves every function of `api` from `library` and checks its ABI: the
// library's major version must equal this header's and its minor be at
// least this header's. Returns an empty string on success, else what is
// wrong and what to do, for the log.
std::string Bind(Resolver resolve, void* library, const std::string& where, Api& api);

}  // namespace MatteboxCore
