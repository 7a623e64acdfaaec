// wrapper_test.cpp: the C++ wrapper's classes used as a host would, built
// with and without exceptions by ffi/tests/c_abi.rs.
#include <cstdio>
#include <vector>

#include "mattebox.hpp"

static int failures = 0;
#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                              \
        }                                                                            \
    } while (0)

int main() {
    auto runtime = mattebox::Runtime::create();
    CHECK(runtime.ok());
    if (!runtime) return 1;
    const uint32_t w = 48, h = 32;
    std::vector<uint8_t> a(w * h * 4), b(w * h * 4), out(w * h * 4);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            for (uint32_t c = 0; c < 4; c++) {
                // A soft gradient with a bright square that moves 4 px right from A to B.
                uint8_t base = uint8_t(40 + x + 2 * y + 10 * c);
                a[(y * w + x) * 4 + c] = (x >= 10 && x < 20 && y >= 10 && y < 20) || c == 3 ? 250 : base;
                b[(y * w + x) * 4 + c] = (x >= 14 && x < 24 && y >= 10 && y < 20) || c == 3 ? 250 : base;
            }
    mb_image ia = mattebox::image(a.data(), a.size(), w, h, w * 4, MB_PIXEL_FORMAT_RGBA8);
    mb_image ib = mattebox::image(b.data(), b.size(), w, h, w * 4, MB_PIXEL_FORMAT_RGBA8);
    mb_image io = mattebox::image(out.data(), out.size(), w, h, w * 4, MB_PIXEL_FORMAT_RGBA8);

    CHECK(!runtime->interpolate(ia, ib, 0.5f, MB_INTERP_MODE_BLEND, io));
    mattebox::Error bad = runtime->interpolate(ia, ib, 2.0f, MB_INTERP_MODE_BLEND, io);
    CHECK(bad && bad.code() == MB_RESULT_INVALID_ARGUMENT && !bad.message().empty());

    auto cut = runtime->is_cut(ia, ib);
    CHECK(cut.ok() && !*cut);

    auto pair = mattebox::FlowPair::compute(*runtime, ia, ib, MB_INTERP_MODE_FAST);
    CHECK(pair.ok());
    if (pair) {
        CHECK(!pair->interpolate(*runtime, ia, ib, 0.5f, io));
        // The square is now centred 2 px further right: at x = 12..21.
        CHECK(out[(15 * w + 21) * 4] > 200 && out[(15 * w + 11) * 4] < 200);
    }
    auto not_flow = mattebox::FlowPair::compute(*runtime, ia, ib, MB_INTERP_MODE_NEAREST);
    CHECK(!not_flow.ok() && not_flow.error().code() == MB_RESULT_INVALID_ARGUMENT);

    auto plan = mattebox::RetimePlan::frame_rate(24, 1, 48, 60, 1);
    CHECK(plan.ok() && plan->frames() == 120 && plan->rate_num() == 60);
    if (plan) {
        auto f = plan->frame(3);
        CHECK(f.ok() && f->source == 1 && f->fraction > 0.19 && f->fraction < 0.21);
        CHECK(!plan->frame(500).ok());
    }
    auto slow = mattebox::RetimePlan::speed(24, 1, 10, 1, 4);
    CHECK(slow.ok() && slow->frames() == 40);
    auto ramp = mattebox::RetimePlan::curve(24, 1, 24, {{0.0, 1.0}, {1.0, 0.5}});
    CHECK(ramp.ok() && ramp->frames() > 24);
    auto broken = mattebox::RetimePlan::curve(24, 1, 24, {{0.0, 0.0}});
    CHECK(!broken.ok() && broken.error().message().find("above zero") != std::string::npos);

    // The same two frames as a 2x slow motion, rendered frame by frame.
    mb_retime_request request{};
    request.struct_size = sizeof request;
    request.kind = MB_RETIME_SPEED;
    request.source_rate_num = 24;
    request.source_rate_den = 1;
    request.source_frames = 2;
    request.value_num = 1;
    request.value_den = 2;
    auto retimer = mattebox::ShotRetimer::make(request, MB_INTERP_MODE_FAST);
    CHECK(retimer.ok() && retimer->frames() == 4);
    if (retimer) {
        auto needed = retimer->frames_needed(1);
        CHECK(needed.ok() && needed->first == 0 && needed->second == 2);
        auto step = retimer->render(*runtime, 1, {ia, ib}, io);
        CHECK(step.ok() && *step == MB_RETIME_STEP_BETWEEN);
        CHECK(out[(15 * w + 21) * 4] > 200 && out[(15 * w + 11) * 4] < 200);
        auto short_of_frames = retimer->render(*runtime, 1, {ia}, io);
        CHECK(!short_of_frames.ok() && short_of_frames.error().message().find("needs 2 source frames") != std::string::npos);
        auto copied = retimer->render(*runtime, 0, {ia}, io);
        CHECK(copied.ok() && *copied == MB_RETIME_STEP_COPY && out == a);
    }

    // Key a green plate with a grey square, composite over red, as a host would per frame.
    std::vector<uint8_t> plate(w * h * 4), red(w * h * 4), matte(w * h * 4), comp(w * h * 4);
    for (uint32_t i = 0; i < w * h; i++) {
        uint32_t x = i % w, y = i / w;
        bool inside = x >= 16 && x < 32 && y >= 8 && y < 24;
        uint8_t px[4] = {uint8_t(inside ? 150 : 30), uint8_t(inside ? 140 : 190), uint8_t(inside ? 130 : 40), 255};
        uint8_t bg[4] = {230, 10, 10, 255};
        for (int c = 0; c < 4; c++) {
            plate[i * 4 + c] = px[c];
            red[i * 4 + c] = bg[c];
        }
    }
    mb_image ip = mattebox::image(plate.data(), plate.size(), w, h, w * 4, MB_PIXEL_FORMAT_RGBA8);
    mb_image ir = mattebox::image(red.data(), red.size(), w, h, w * 4, MB_PIXEL_FORMAT_RGBA8);
    mb_image im = mattebox::image(matte.data(), matte.size(), w, h, w * 4, MB_PIXEL_FORMAT_RGBA8);
    mb_image ic = mattebox::image(comp.data(), comp.size(), w, h, w * 4, MB_PIXEL_FORMAT_RGBA8);
    auto screen = runtime->key(ip, mattebox::key_options(), im);
    CHECK(screen.ok() && screen->channel == 1);
    CHECK(matte[(16 * w + 24) * 4 + 3] == 255 && matte[(2 * w + 2) * 4 + 3] == 0);
    auto compositor = mattebox::Compositor::keyed(mattebox::key_options(), mattebox::composite_options());
    CHECK(compositor.ok());
    if (compositor) {
        CHECK(!compositor->screen().ok());
        for (int frame = 0; frame < 3; frame++) CHECK(!compositor->render(*runtime, ip, nullptr, ir, ic));
        CHECK(comp[(2 * w + 2) * 4] == 230 && comp[(16 * w + 24) * 4 + 1] > 110);
        CHECK(compositor->screen().ok());
    }
    auto host_matte = mattebox::Compositor::with_host_matte(mattebox::composite_options());
    CHECK(host_matte.ok());
    if (host_matte) {
        mattebox::Error missing = host_matte->render(*runtime, ip, nullptr, ir, ic);
        CHECK(missing && missing.code() == MB_RESULT_NULL_POINTER);
        CHECK(!host_matte->render(*runtime, ip, &im, ir, ic));
        mattebox::Error kept = host_matte->keep_person();
        CHECK(kept && kept.code() == MB_RESULT_INVALID_ARGUMENT && kept.message().find("screen key") != std::string::npos);
    }
    mb_composite_options wrong = mattebox::composite_options();
    wrong.spill = 3.0f;
    auto refused = mattebox::Compositor::with_host_matte(wrong);
    CHECK(!refused.ok() && refused.error().message().find("spill") != std::string::npos);

    // Generation: two takes from the built-in generator, one read back.
    auto generations = mattebox::Generations::create(*runtime);
    CHECK(generations.ok());
    if (generations) {
        mb_shot_request request = mattebox::shot_request();
        request.width = 32;
        request.height = 18;
        request.fps_num = 4;
        request.duration_num = 1;
        auto unknown = generations->submit("nobody", request, 1);
        CHECK(!unknown.ok() && unknown.error().code() == MB_RESULT_NOT_FOUND);
        // Adapters load by installed id only.
        CHECK(generations->load_installed("/tmp/some/adapter").code() == MB_RESULT_INVALID_ARGUMENT);
        auto job = generations->submit("builtin", request, 2);
        CHECK(job.ok());
        if (job) {
            CHECK(job->take_count() == 2);
            while (!job->wait(100)) {
            }
            auto status = job->status(1);
            CHECK(status.ok() && status->stage == MB_TAKE_DONE && status->frames == 4);
            CHECK(!job->status(5).ok());
            auto take = job->open_take(0);
            CHECK(take.ok() && take->width() == 32 && take->frame_count() == 4);
            if (take) {
                auto pixels = take->read_frame_rgba8(3);
                CHECK(pixels.ok() && (*pixels)[3] == 255);
            }
            auto dir = job->take_dir(0);
            CHECK(dir.ok() && dir->find("/takes/") != std::string::npos && dir->size() == std::strlen(dir->c_str()));
            // The take's key, as a host that keeps takes by key asks for it.
            auto key = generations->take_key("builtin", request, 0);
            CHECK(key.ok() && key->size() == 64 && dir.ok() && dir->find(*key) != std::string::npos);
            CHECK(!generations->take_key("nothing-here", request, 0).ok());
            CHECK(!job->take_dir(5).ok() && job->take_dir(5).error().code() == MB_RESULT_INVALID_ARGUMENT);
            // The built-in generator makes no sound.
            CHECK(!job->take_audio(0).ok() && job->take_audio(0).error().code() == MB_RESULT_NOT_FOUND);
        }
        CHECK(generations->load_adapter("/nonexistent/adapter").code() == MB_RESULT_NOT_FOUND);
    }

    // Consistency: A then B alternately is a shot that flickers its square.
    auto scorer = mattebox::ShotScorer::create();
    CHECK(scorer.ok());
    if (scorer) {
        CHECK(!scorer->add_reference(*runtime, MB_REFERENCE_LOCATION, ia));
        CHECK(scorer->add_reference(*runtime, 9, ia).code() == MB_RESULT_UNSUPPORTED);
        CHECK(!scorer->finish().ok());  // no frames yet
        for (int i = 0; i < 6; i++) CHECK(!scorer->push(*runtime, i % 2 ? ib : ia));
        mattebox::ShotScorer moved = std::move(*scorer);  // handles move; the old one is empty
        auto scores = moved.finish();
        CHECK(scores.ok());
        if (scores) {
            CHECK(scores->frame_count() == 6);
            auto location = scores->value(MB_SCORE_LOCATION);
            auto character = scores->value(MB_SCORE_CHARACTER);
            CHECK(location.ok() && *location > 0.0f && *location <= 1.0f);
            CHECK(character.ok() && *character == -1.0f);
            auto curve = scores->curve(MB_SCORE_FLICKER);
            CHECK(curve.ok() && curve->size() == 6 && (*curve)[0] == 1.0f);
            CHECK(!scores->value(MB_SCORE_COUNT).ok());
        }
    }

    if (failures) {
        std::fprintf(stderr, "wrapper_test: %d failures\n", failures);
        return 1;
    }
    std::printf("wrapper_test: all checks passed\n");
    return 0;
}
