/*
 * abi_misuse.c: calls every exported mb_ function with NULL and bad
 * arguments, then correctly, and checks codes and messages. Built with
 * AddressSanitizer and UndefinedBehaviorSanitizer by ffi/tests/c_abi.rs.
 *
 *   abi_misuse CLIP.mp4 JUNK_FILE TRUNCATED.mp4 CACHE_DIR ADAPTER_DIR
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mattebox.h"

static int failures = 0;

#define CHECK(cond)                                                           \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                       \
        }                                                                     \
    } while (0)

/* The call returns `want`; a failure must come with a message naming `needle`. */
#define EXPECT(call, want, needle) expect_impl((call), (want), (needle), #call, __LINE__)

static void expect_impl(mb_result got, mb_result want, const char *needle, const char *text, int line) {
    const char *message = mb_last_error_message();
    if (got != want) {
        fprintf(stderr, "line %d: %s returned %s, expected %s (%s)\n", line, text, mb_result_name(got),
                mb_result_name(want), message);
        failures++;
        return;
    }
    if (want == MB_RESULT_OK) {
        if (message[0] != '\0') {
            fprintf(stderr, "line %d: %s succeeded but left an error message: %s\n", line, text, message);
            failures++;
        }
    } else if (needle && !strstr(message, needle)) {
        fprintf(stderr, "line %d: %s: message \"%s\" does not mention \"%s\"\n", line, text, message, needle);
        failures++;
    }
}

/* Submits one take of `req` to `generator`, waits for it and returns its
 * status; `*job` stays the caller's to free. */
static mb_take_status one_take(mb_generations *gens, const char *generator, const mb_shot_request *req, mb_generation **job) {
    mb_take_status ts;
    memset(&ts, 0, sizeof ts);
    ts.struct_size = sizeof ts;
    EXPECT(mb_generation_submit(gens, generator, req, 1, job), MB_RESULT_OK, NULL);
    uint32_t finished = 0;
    while (!finished) EXPECT(mb_generation_wait(*job, 100, &finished), MB_RESULT_OK, NULL);
    EXPECT(mb_generation_status(*job, 0, &ts), MB_RESULT_OK, NULL);
    return ts;
}

static int log_lines = 0;
static void count_log(void *user, mb_log_level level, const char *message) {
    (void)level;
    CHECK(user == &log_lines);
    CHECK(message != NULL);
    log_lines++;
}

static mb_image img(void *data, size_t size, uint32_t w, uint32_t h, size_t stride, mb_pixel_format f) {
    mb_image i = {data, size, w, h, stride, f};
    return i;
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: abi_misuse CLIP JUNK TRUNCATED CACHE_DIR ADAPTER_DIR SOUND\n");
        return 2;
    }
    const char *clip = argv[1], *junk = argv[2], *truncated = argv[3], *cache = argv[4], *adapter = argv[5];
    const char *line = argv[6];

    /* Versions and names. */
    CHECK((mb_abi_version() >> 16) == (MB_ABI_VERSION >> 16));
    CHECK(mb_version() != NULL && strlen(mb_version()) > 0);
    CHECK(strcmp(mb_result_name(MB_RESULT_MEDIA), "MB_RESULT_MEDIA") == 0);
    CHECK(strcmp(mb_result_name(12345), "MB_RESULT_UNKNOWN") == 0);
    CHECK(mb_last_error_message() != NULL);

    /* Runtime options and creation. */
    mb_runtime *rt = (mb_runtime *)&failures; /* garbage that must be overwritten with NULL */
    mb_runtime_options options;
    EXPECT(mb_runtime_options_init(NULL), MB_RESULT_NULL_POINTER, "options");
    EXPECT(mb_runtime_new(NULL, NULL), MB_RESULT_NULL_POINTER, "out");
    memset(&options, 0, sizeof options);
    EXPECT(mb_runtime_new(&options, &rt), MB_RESULT_INVALID_ARGUMENT, "struct_size");
    CHECK(rt == NULL);
    EXPECT(mb_runtime_options_init(&options), MB_RESULT_OK, NULL);
    options.log_level = 99;
    EXPECT(mb_runtime_new(&options, &rt), MB_RESULT_INVALID_ARGUMENT, "log_level");
    options.log_level = MB_LOG_LEVEL_DEBUG;
    options.threads = 100000;
    EXPECT(mb_runtime_new(&options, &rt), MB_RESULT_INVALID_ARGUMENT, "100000");
    options.threads = 2;
    options.log_callback = count_log;
    options.log_user_data = &log_lines;
    options.cache_dir = cache;
    EXPECT(mb_runtime_new(&options, &rt), MB_RESULT_OK, NULL);
    CHECK(rt != NULL);
    CHECK(log_lines > 0); /* debug logging reports the runtime starting */

    uint32_t threads = 0;
    EXPECT(mb_runtime_threads(NULL, &threads), MB_RESULT_NULL_POINTER, "runtime");
    EXPECT(mb_runtime_threads(rt, NULL), MB_RESULT_NULL_POINTER, "out");
    EXPECT(mb_runtime_threads(rt, &threads), MB_RESULT_OK, NULL);
    CHECK(threads == 2);
    mb_runtime_free(NULL);

    /* Frame conversion. */
    uint8_t src_px[4 * 4 * 4];
    for (size_t i = 0; i < sizeof src_px; i++) src_px[i] = (uint8_t)(i * 9);
    uint16_t dst_px[4 * 4 * 4 + 16];
    float float_px[4 * 4 * 4 + 1];
    mb_image src = img(src_px, sizeof src_px, 4, 4, 16, MB_PIXEL_FORMAT_RGBA8);
    mb_image dst = img(dst_px, sizeof dst_px, 4, 4, 32, MB_PIXEL_FORMAT_RGBA16);
    EXPECT(mb_frame_convert(NULL, &src, &dst), MB_RESULT_NULL_POINTER, "runtime");
    EXPECT(mb_frame_convert(rt, NULL, &dst), MB_RESULT_NULL_POINTER, "src");
    EXPECT(mb_frame_convert(rt, &src, NULL), MB_RESULT_NULL_POINTER, "dst");
    mb_image bad = src;
    bad.data = NULL;
    EXPECT(mb_frame_convert(rt, &bad, &dst), MB_RESULT_NULL_POINTER, "src->data");
    bad = src;
    bad.stride = 8;
    EXPECT(mb_frame_convert(rt, &bad, &dst), MB_RESULT_INVALID_ARGUMENT, "stride");
    bad = src;
    bad.size = 10;
    EXPECT(mb_frame_convert(rt, &bad, &dst), MB_RESULT_INVALID_ARGUMENT, "too small");
    bad = src;
    bad.format = 77;
    EXPECT(mb_frame_convert(rt, &bad, &dst), MB_RESULT_UNSUPPORTED, "pixel format 77");
    bad = src;
    bad.width = 0;
    EXPECT(mb_frame_convert(rt, &bad, &dst), MB_RESULT_INVALID_ARGUMENT, "0x4");
    bad = src;
    bad.width = 100000;
    bad.height = 100000;
    EXPECT(mb_frame_convert(rt, &bad, &dst), MB_RESULT_INVALID_ARGUMENT, "100000x100000");
    bad = src;
    bad.size = SIZE_MAX;
    EXPECT(mb_frame_convert(rt, &bad, &dst), MB_RESULT_INVALID_ARGUMENT, "impossible size");
    EXPECT(mb_frame_convert(rt, &src, &src), MB_RESULT_INVALID_ARGUMENT, "overlap");
    mb_image misaligned = img((char *)float_px + 1, sizeof float_px - 1, 4, 4, 64, MB_PIXEL_FORMAT_RGBA32F);
    EXPECT(mb_frame_convert(rt, &src, &misaligned), MB_RESULT_INVALID_ARGUMENT, "aligned");
    mb_image smaller = img(dst_px, sizeof dst_px, 3, 4, 32, MB_PIXEL_FORMAT_RGBA16);
    EXPECT(mb_frame_convert(rt, &src, &smaller), MB_RESULT_INVALID_ARGUMENT, "sizes must match");
    EXPECT(mb_frame_convert(rt, &src, &dst), MB_RESULT_OK, NULL);
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 16; x++) CHECK(dst_px[y * 16 + x] == src_px[y * 16 + x] * 257);

    /* Media. */
    mb_media *media = (mb_media *)&failures;
    EXPECT(mb_media_open(NULL, clip, &media), MB_RESULT_NULL_POINTER, "runtime");
    CHECK(media == NULL);
    EXPECT(mb_media_open(rt, NULL, &media), MB_RESULT_NULL_POINTER, "path");
    EXPECT(mb_media_open(rt, clip, NULL), MB_RESULT_NULL_POINTER, "out");
    EXPECT(mb_media_open(rt, "", &media), MB_RESULT_INVALID_ARGUMENT, "empty path");
    EXPECT(mb_media_open(rt, "/nonexistent/missing.mp4", &media), MB_RESULT_NOT_FOUND, "missing.mp4");
    CHECK(media == NULL);
    EXPECT(mb_media_open(rt, junk, &media), MB_RESULT_MEDIA, junk);
    CHECK(media == NULL);
    EXPECT(mb_media_open(rt, truncated, &media), MB_RESULT_MEDIA, truncated);
    CHECK(media == NULL);
    EXPECT(mb_media_open(rt, clip, &media), MB_RESULT_OK, NULL);
    CHECK(media != NULL);

    mb_media_info info;
    memset(&info, 0, sizeof info);
    EXPECT(mb_media_get_info(NULL, &info), MB_RESULT_NULL_POINTER, "media");
    EXPECT(mb_media_get_info(media, NULL), MB_RESULT_NULL_POINTER, "info");
    EXPECT(mb_media_get_info(media, &info), MB_RESULT_INVALID_ARGUMENT, "struct_size");
    /* A host built against an older, shorter struct gets only what it knows. */
    memset(&info, 0xAB, sizeof info);
    info.struct_size = 16;
    EXPECT(mb_media_get_info(media, &info), MB_RESULT_OK, NULL);
    CHECK(info.struct_size == 16 && info.width == 320 && info.height == 240);
    CHECK(info.frame_count == 0xABABABABABABABABull);
    info.struct_size = sizeof info;
    EXPECT(mb_media_get_info(media, &info), MB_RESULT_OK, NULL);
    CHECK(info.kind == MB_MEDIA_KIND_VIDEO);
    CHECK(info.frame_rate_num == 24000 && info.frame_rate_den == 1001);
    CHECK(info.frame_count == 48);
    CHECK(info.decoded_format == MB_PIXEL_FORMAT_RGBA8);

    CHECK(mb_media_codec_name(NULL) == NULL);
    CHECK(strcmp(mb_media_codec_name(media), "h264") == 0);

    size_t stride = 320 * 16 + 32;
    void *frame = malloc(stride * 240);
    mb_image out = img(frame, stride * 240, 320, 240, stride, MB_PIXEL_FORMAT_RGBA32F);
    EXPECT(mb_media_read_frame(NULL, 0, &out), MB_RESULT_NULL_POINTER, "media");
    EXPECT(mb_media_read_frame(media, 0, NULL), MB_RESULT_NULL_POINTER, "dst");
    EXPECT(mb_media_read_frame(media, 48, &out), MB_RESULT_INVALID_ARGUMENT, "frame 48");
    EXPECT(mb_media_read_frame(media, UINT64_MAX, &out), MB_RESULT_INVALID_ARGUMENT, "does not exist");
    bad = out;
    bad.width = 100;
    EXPECT(mb_media_read_frame(media, 0, &bad), MB_RESULT_INVALID_ARGUMENT, "320x240");
    bad = out;
    bad.data = NULL;
    EXPECT(mb_media_read_frame(media, 0, &bad), MB_RESULT_NULL_POINTER, "dst->data");
    bad = out;
    bad.stride = 100;
    EXPECT(mb_media_read_frame(media, 0, &bad), MB_RESULT_INVALID_ARGUMENT, "stride");
    EXPECT(mb_media_read_frame(media, 47, &out), MB_RESULT_OK, NULL);
    EXPECT(mb_media_read_frame(media, 3, &out), MB_RESULT_OK, NULL);
    const float *centre = (const float *)((char *)frame + 120 * stride) + 160 * 4;
    CHECK(centre[3] == 1.0f);
    CHECK(centre[0] >= 0.0f && centre[0] <= 1.0f);

    /* Consistency: the clip's first 12 frames scored, frame 0 as reference. */
    mb_shot_scorer *scorer = (mb_shot_scorer *)&failures;
    EXPECT(mb_shot_scorer_new(NULL), MB_RESULT_NULL_POINTER, "out");
    EXPECT(mb_shot_scorer_new(&scorer), MB_RESULT_OK, NULL);
    CHECK(scorer != NULL);
    EXPECT(mb_media_read_frame(media, 0, &out), MB_RESULT_OK, NULL);
    EXPECT(mb_shot_scorer_add_reference(NULL, scorer, MB_REFERENCE_CHARACTER, &out), MB_RESULT_NULL_POINTER, "runtime");
    EXPECT(mb_shot_scorer_add_reference(rt, NULL, MB_REFERENCE_CHARACTER, &out), MB_RESULT_NULL_POINTER, "scorer");
    EXPECT(mb_shot_scorer_add_reference(rt, scorer, MB_REFERENCE_CHARACTER, NULL), MB_RESULT_NULL_POINTER, "image");
    EXPECT(mb_shot_scorer_add_reference(rt, scorer, 77, &out), MB_RESULT_UNSUPPORTED, "reference kind 77");
    EXPECT(mb_shot_scorer_add_reference(rt, scorer, MB_REFERENCE_CHARACTER, &out), MB_RESULT_OK, NULL);
    EXPECT(mb_shot_scorer_add_reference(rt, scorer, MB_REFERENCE_LOOK, &out), MB_RESULT_OK, NULL);
    mb_shot_scores *scores = (mb_shot_scores *)&failures;
    EXPECT(mb_shot_scorer_finish(NULL, &scores), MB_RESULT_NULL_POINTER, "scorer");
    EXPECT(mb_shot_scorer_finish(scorer, NULL), MB_RESULT_NULL_POINTER, "out");
    EXPECT(mb_shot_scorer_finish(scorer, &scores), MB_RESULT_INVALID_ARGUMENT, "at least two frames");
    CHECK(scores == NULL);
    EXPECT(mb_shot_scorer_push(NULL, scorer, &out), MB_RESULT_NULL_POINTER, "runtime");
    EXPECT(mb_shot_scorer_push(rt, NULL, &out), MB_RESULT_NULL_POINTER, "scorer");
    EXPECT(mb_shot_scorer_push(rt, scorer, NULL), MB_RESULT_NULL_POINTER, "image");
    for (uint64_t n = 0; n < 12; n++) {
        EXPECT(mb_media_read_frame(media, n, &out), MB_RESULT_OK, NULL);
        EXPECT(mb_shot_scorer_push(rt, scorer, &out), MB_RESULT_OK, NULL);
    }
    uint8_t tiny_px[16 * 8 * 4] = {0};
    mb_image tiny = img(tiny_px, sizeof tiny_px, 16, 8, 64, MB_PIXEL_FORMAT_RGBA8);
    EXPECT(mb_shot_scorer_push(rt, scorer, &tiny), MB_RESULT_INVALID_ARGUMENT, "frame 12 is 16x8");
    EXPECT(mb_shot_scorer_finish(scorer, &scores), MB_RESULT_OK, NULL);
    CHECK(scores != NULL);
    CHECK(mb_shot_scores_frame_count(NULL) == 0);
    CHECK(mb_shot_scores_frame_count(scores) == 12);
    float value = -5.0f;
    EXPECT(mb_shot_scores_value(NULL, MB_SCORE_FLICKER, &value), MB_RESULT_NULL_POINTER, "scores");
    EXPECT(mb_shot_scores_value(scores, MB_SCORE_FLICKER, NULL), MB_RESULT_NULL_POINTER, "out");
    EXPECT(mb_shot_scores_value(scores, MB_SCORE_COUNT, &value), MB_RESULT_UNSUPPORTED, "score 10");
    for (mb_score m = 0; m < MB_SCORE_COUNT; m++) {
        EXPECT(mb_shot_scores_value(scores, m, &value), MB_RESULT_OK, NULL);
        if (m == MB_SCORE_LOCATION) CHECK(value == -1.0f); /* no location reference given */
        else CHECK(value >= 0.0f && value <= 1.0f);
    }
    EXPECT(mb_shot_scores_value(scores, MB_SCORE_CHARACTER, &value), MB_RESULT_OK, NULL);
    CHECK(value > 0.5f); /* the shot's own first frame */
    float curve[12];
    EXPECT(mb_shot_scores_curve(NULL, MB_SCORE_GRADE, curve, 12), MB_RESULT_NULL_POINTER, "scores");
    EXPECT(mb_shot_scores_curve(scores, MB_SCORE_GRADE, NULL, 12), MB_RESULT_NULL_POINTER, "out");
    EXPECT(mb_shot_scores_curve(scores, MB_SCORE_GRADE, curve, 11), MB_RESULT_INVALID_ARGUMENT, "12 frames");
    EXPECT(mb_shot_scores_curve(scores, 99, curve, 12), MB_RESULT_UNSUPPORTED, "score 99");
    EXPECT(mb_shot_scores_curve(scores, MB_SCORE_GRADE, curve, 12), MB_RESULT_OK, NULL);
    CHECK(curve[0] == 1.0f);
    for (int i = 1; i < 12; i++) CHECK(curve[i] >= 0.0f && curve[i] <= 1.0f);
    EXPECT(mb_shot_scores_curve(scores, MB_SCORE_LOCATION, curve, 12), MB_RESULT_OK, NULL);
    CHECK(curve[5] == -1.0f);
    char report[4096];
    snprintf(report, sizeof report, "%s", clip); /* beside the clip */
    char *slash = strrchr(report, '/');
    snprintf(slash ? slash + 1 : report, sizeof report - (size_t)(slash ? slash + 1 - report : 0), "shot report.html");
    EXPECT(mb_shot_scores_write_html(NULL, report, NULL), MB_RESULT_NULL_POINTER, "scores");
    EXPECT(mb_shot_scores_write_html(scores, NULL, NULL), MB_RESULT_NULL_POINTER, "path");
    EXPECT(mb_shot_scores_write_html(scores, "/nonexistent/dir/r.html", NULL), MB_RESULT_NOT_FOUND, "/nonexistent/dir");
    EXPECT(mb_shot_scores_write_html(scores, report, "Shot <1>"), MB_RESULT_OK, NULL);
    FILE *written = fopen(report, "rb");
    CHECK(written != NULL);
    if (written) {
        char head[16] = {0};
        CHECK(fread(head, 1, 15, written) == 15 && strcmp(head, "<!DOCTYPE html>") == 0);
        fclose(written);
    }
    mb_shot_scores_free(scores);
    mb_shot_scores_free(NULL);
    /* The scorer starts over after finish, keeping its references. */
    EXPECT(mb_shot_scorer_push(rt, scorer, &tiny), MB_RESULT_OK, NULL);
    EXPECT(mb_shot_scorer_push(rt, scorer, &tiny), MB_RESULT_OK, NULL);
    EXPECT(mb_shot_scorer_finish(scorer, &scores), MB_RESULT_OK, NULL);
    CHECK(mb_shot_scores_frame_count(scores) == 2);
    mb_shot_scores_free(scores);
    mb_shot_scorer_free(scorer);
    mb_shot_scorer_free(NULL);
    free(frame);

    mb_media_close(NULL);
    mb_media_close(media);

    /* Interpolation between two small host frames. */
    enum { W = 32, H = 16 };
    static uint8_t fa[W * H * 4], fb[W * H * 4], fo[W * H * 4], small[8 * 8 * 4], small_out[8 * 8 * 4];
    for (int i = 0; i < W * H * 4; i++) {
        fa[i] = (uint8_t)(i % 4 == 3 ? 255 : 40);
        fb[i] = (uint8_t)(i % 4 == 3 ? 255 : 200);
    }
    mb_image ia = img(fa, sizeof fa, W, H, W * 4, MB_PIXEL_FORMAT_RGBA8);
    mb_image ib = img(fb, sizeof fb, W, H, W * 4, MB_PIXEL_FORMAT_RGBA8);
    mb_image io = img(fo, sizeof fo, W, H, W * 4, MB_PIXEL_FORMAT_RGBA8);
    mb_image is = img(small, sizeof small, 8, 8, 32, MB_PIXEL_FORMAT_RGBA8);
    EXPECT(mb_interpolate(NULL, &ia, &ib, 0.5f, MB_INTERP_MODE_BLEND, &io), MB_RESULT_NULL_POINTER, "runtime");
    EXPECT(mb_interpolate(rt, NULL, &ib, 0.5f, MB_INTERP_MODE_BLEND, &io), MB_RESULT_NULL_POINTER, "`a`");
    EXPECT(mb_interpolate(rt, &ia, NULL, 0.5f, MB_INTERP_MODE_BLEND, &io), MB_RESULT_NULL_POINTER, "`b`");
    EXPECT(mb_interpolate(rt, &ia, &ib, 0.5f, MB_INTERP_MODE_BLEND, NULL), MB_RESULT_NULL_POINTER, "out");
    EXPECT(mb_interpolate(rt, &ia, &ib, 0.5f, 99, &io), MB_RESULT_UNSUPPORTED, "mode 99");
    EXPECT(mb_interpolate(rt, &ia, &ib, 1.5f, MB_INTERP_MODE_BLEND, &io), MB_RESULT_INVALID_ARGUMENT, "outside 0..1");
    EXPECT(mb_interpolate(rt, &ia, &ib, 0.0f / 0.0f, MB_INTERP_MODE_FAST, &io), MB_RESULT_INVALID_ARGUMENT, "outside 0..1");
    EXPECT(mb_interpolate(rt, &ia, &is, 0.5f, MB_INTERP_MODE_BLEND, &io), MB_RESULT_INVALID_ARGUMENT, "32x16 and 8x8");
    EXPECT(mb_interpolate(rt, &ia, &ib, 0.5f, MB_INTERP_MODE_BLEND, &ia), MB_RESULT_INVALID_ARGUMENT, "overlaps");
    EXPECT(mb_interpolate(rt, &ia, &ib, 0.5f, MB_INTERP_MODE_BLEND, &io), MB_RESULT_OK, NULL);
    CHECK(fo[0] == 120 && fo[3] == 255);
    EXPECT(mb_interpolate(rt, &ia, &ib, 0.25f, MB_INTERP_MODE_QUALITY, &io), MB_RESULT_OK, NULL);

    mb_flow_pair *pair = (mb_flow_pair *)&failures;
    EXPECT(mb_flow_pair_new(rt, &ia, &ib, MB_INTERP_MODE_FAST, NULL), MB_RESULT_NULL_POINTER, "out");
    EXPECT(mb_flow_pair_new(NULL, &ia, &ib, MB_INTERP_MODE_FAST, &pair), MB_RESULT_NULL_POINTER, "runtime");
    CHECK(pair == NULL);
    EXPECT(mb_flow_pair_new(rt, &ia, NULL, MB_INTERP_MODE_FAST, &pair), MB_RESULT_NULL_POINTER, "`b`");
    EXPECT(mb_flow_pair_new(rt, &ia, &ib, MB_INTERP_MODE_BLEND, &pair), MB_RESULT_INVALID_ARGUMENT, "optical flow");
    EXPECT(mb_flow_pair_new(rt, &ia, &ib, MB_INTERP_MODE_QUALITY, &pair), MB_RESULT_OK, NULL);
    CHECK(pair != NULL);
    EXPECT(mb_flow_pair_interpolate(rt, NULL, &ia, &ib, 0.5f, &io), MB_RESULT_NULL_POINTER, "pair");
    EXPECT(mb_flow_pair_interpolate(NULL, pair, &ia, &ib, 0.5f, &io), MB_RESULT_NULL_POINTER, "runtime");
    EXPECT(mb_flow_pair_interpolate(rt, pair, &ia, &ib, -1.0f, &io), MB_RESULT_INVALID_ARGUMENT, "outside 0..1");
    EXPECT(mb_flow_pair_interpolate(rt, pair, &ia, &ib, 0.5f, &ib), MB_RESULT_INVALID_ARGUMENT, "overlaps");
    mb_image iso = img(small_out, sizeof small_out, 8, 8, 32, MB_PIXEL_FORMAT_RGBA8);
    EXPECT(mb_flow_pair_interpolate(rt, pair, &is, &is, 0.5f, &iso), MB_RESULT_INVALID_ARGUMENT, "another size");
    EXPECT(mb_flow_pair_interpolate(rt, pair, &ia, &ib, 0.0f, &io), MB_RESULT_OK, NULL);
    CHECK(memcmp(fo, fa, sizeof fa) == 0);
    mb_flow_pair_free(NULL);
    mb_flow_pair_free(pair);

    uint32_t cut = 7;
    EXPECT(mb_frames_are_cut(rt, &ia, &ib, NULL), MB_RESULT_NULL_POINTER, "is_cut");
    EXPECT(mb_frames_are_cut(NULL, &ia, &ib, &cut), MB_RESULT_NULL_POINTER, "runtime");
    EXPECT(mb_frames_are_cut(rt, &ia, &ia, &cut), MB_RESULT_OK, NULL);
    CHECK(cut == 0);
    EXPECT(mb_frames_are_cut(rt, &ia, &ib, &cut), MB_RESULT_OK, NULL);
    CHECK(cut == 1);

    /* Retime plans. */
    mb_retime_request rq;
    memset(&rq, 0, sizeof rq);
    mb_retime_plan *plan = (mb_retime_plan *)&failures;
    EXPECT(mb_retime_plan_new(NULL, &plan), MB_RESULT_NULL_POINTER, "request");
    CHECK(plan == NULL);
    EXPECT(mb_retime_plan_new(&rq, NULL), MB_RESULT_NULL_POINTER, "out");
    EXPECT(mb_retime_plan_new(&rq, &plan), MB_RESULT_INVALID_ARGUMENT, "struct_size");
    rq.struct_size = sizeof rq;
    rq.kind = 9;
    rq.source_rate_num = 24000;
    rq.source_rate_den = 1001;
    rq.source_frames = 48;
    rq.value_num = 30000;
    rq.value_den = 1001;
    EXPECT(mb_retime_plan_new(&rq, &plan), MB_RESULT_UNSUPPORTED, "kind 9");
    rq.kind = MB_RETIME_FRAME_RATE;
    rq.source_rate_den = 0;
    EXPECT(mb_retime_plan_new(&rq, &plan), MB_RESULT_INVALID_ARGUMENT, "zero denominator");
    rq.source_rate_den = 1001;
    rq.kind = MB_RETIME_SPEED;
    rq.value_num = 0;
    rq.value_den = 1;
    EXPECT(mb_retime_plan_new(&rq, &plan), MB_RESULT_INVALID_ARGUMENT, "above zero");
    rq.kind = MB_RETIME_CURVE;
    EXPECT(mb_retime_plan_new(&rq, &plan), MB_RESULT_NULL_POINTER, "curve");
    mb_speed_key keys[2] = {{0.0, 1.0}, {1.0, 0.0}};
    rq.curve = keys;
    rq.curve_len = 2;
    EXPECT(mb_retime_plan_new(&rq, &plan), MB_RESULT_INVALID_ARGUMENT, "above zero");
    keys[1].speed = 0.5;
    EXPECT(mb_retime_plan_new(&rq, &plan), MB_RESULT_OK, NULL);
    mb_retime_plan_free(plan);
    rq.kind = MB_RETIME_FRAME_RATE;
    rq.value_num = 30000;
    rq.value_den = 1001;
    EXPECT(mb_retime_plan_new(&rq, &plan), MB_RESULT_OK, NULL);
    uint64_t frames = 0;
    int64_t rate_num = 0, rate_den = 0;
    EXPECT(mb_retime_plan_info(NULL, &frames, &rate_num, &rate_den), MB_RESULT_NULL_POINTER, "plan");
    EXPECT(mb_retime_plan_info(plan, NULL, &rate_num, &rate_den), MB_RESULT_NULL_POINTER, "frames");
    EXPECT(mb_retime_plan_info(plan, &frames, &rate_num, &rate_den), MB_RESULT_OK, NULL);
    CHECK(frames == 60 && rate_num == 30000 && rate_den == 1001);
    mb_planned_frame pf;
    EXPECT(mb_retime_plan_frame(plan, 1, NULL), MB_RESULT_NULL_POINTER, "frame");
    EXPECT(mb_retime_plan_frame(NULL, 1, &pf), MB_RESULT_NULL_POINTER, "plan");
    EXPECT(mb_retime_plan_frame(plan, 60, &pf), MB_RESULT_INVALID_ARGUMENT, "frame 60");
    EXPECT(mb_retime_plan_frame(plan, 1, &pf), MB_RESULT_OK, NULL);
    CHECK(pf.index == 1 && pf.source == 0 && pf.fraction > 0.79 && pf.fraction < 0.81);
    CHECK(pf.time_num == 1001 && pf.time_den == 30000);
    mb_retime_plan_free(NULL);
    mb_retime_plan_free(plan);

    /* A shot retimer over A and B (a cut, as above), 2x slow motion. */
    mb_shot_retimer *retimer = (mb_shot_retimer *)&failures;
    rq.kind = MB_RETIME_SPEED;
    rq.source_frames = 2;
    rq.value_num = 1;
    rq.value_den = 2;
    EXPECT(mb_shot_retimer_new(NULL, MB_INTERP_MODE_FAST, &retimer), MB_RESULT_NULL_POINTER, "request");
    CHECK(retimer == NULL);
    EXPECT(mb_shot_retimer_new(&rq, MB_INTERP_MODE_FAST, NULL), MB_RESULT_NULL_POINTER, "out");
    EXPECT(mb_shot_retimer_new(&rq, 99, &retimer), MB_RESULT_UNSUPPORTED, "mode 99");
    EXPECT(mb_shot_retimer_new(&rq, MB_INTERP_MODE_FAST, &retimer), MB_RESULT_OK, NULL);
    EXPECT(mb_shot_retimer_info(NULL, &frames, &rate_num, &rate_den), MB_RESULT_NULL_POINTER, "retimer");
    EXPECT(mb_shot_retimer_info(retimer, &frames, NULL, &rate_den), MB_RESULT_NULL_POINTER, "rate_num");
    EXPECT(mb_shot_retimer_info(retimer, &frames, &rate_num, &rate_den), MB_RESULT_OK, NULL);
    CHECK(frames == 4 && rate_num == 24000 && rate_den == 1001);
    uint64_t first = 9, needed = 9;
    EXPECT(mb_shot_retimer_frames_needed(NULL, 1, &first, &needed), MB_RESULT_NULL_POINTER, "retimer");
    EXPECT(mb_shot_retimer_frames_needed(retimer, 1, NULL, &needed), MB_RESULT_NULL_POINTER, "first");
    EXPECT(mb_shot_retimer_frames_needed(retimer, 4, &first, &needed), MB_RESULT_INVALID_ARGUMENT, "outside");
    EXPECT(mb_shot_retimer_frames_needed(retimer, 1, &first, &needed), MB_RESULT_OK, NULL);
    CHECK(first == 0 && needed == 2);
    mb_image sources[2] = {ia, ib};
    mb_image mixed[2] = {ia, is};
    mb_retime_step step = 0;
    EXPECT(mb_shot_retimer_render(NULL, retimer, 1, sources, 2, &io, &step), MB_RESULT_NULL_POINTER, "runtime");
    EXPECT(mb_shot_retimer_render(rt, NULL, 1, sources, 2, &io, &step), MB_RESULT_NULL_POINTER, "retimer");
    EXPECT(mb_shot_retimer_render(rt, retimer, 1, NULL, 2, &io, &step), MB_RESULT_NULL_POINTER, "sources");
    EXPECT(mb_shot_retimer_render(rt, retimer, 1, sources, 2, NULL, &step), MB_RESULT_NULL_POINTER, "out");
    EXPECT(mb_shot_retimer_render(rt, retimer, 1, sources, 1, &io, &step), MB_RESULT_INVALID_ARGUMENT, "needs 2");
    EXPECT(mb_shot_retimer_render(rt, retimer, 1, mixed, 2, &io, &step), MB_RESULT_INVALID_ARGUMENT, "one size");
    EXPECT(mb_shot_retimer_render(rt, retimer, 1, sources, 2, &ib, &step), MB_RESULT_INVALID_ARGUMENT, "overlaps");
    EXPECT(mb_shot_retimer_render(rt, retimer, 9, sources, 2, &io, &step), MB_RESULT_INVALID_ARGUMENT, "outside");
    memset(fo, 0, sizeof fo);
    EXPECT(mb_shot_retimer_render(rt, retimer, 1, sources, 2, &io, &step), MB_RESULT_OK, NULL);
    CHECK(step == MB_RETIME_STEP_HOLD_AT_CUT && memcmp(fo, fa, sizeof fa) == 0);
    EXPECT(mb_shot_retimer_render(rt, retimer, 2, sources + 1, 1, &io, NULL), MB_RESULT_OK, NULL);
    CHECK(memcmp(fo, fb, sizeof fb) == 0);
    mb_shot_retimer_free(NULL);
    mb_shot_retimer_free(retimer);


    /* Keying and compositing: a 64x32 green-screen plate with a grey square. */
    enum { KW = 64, KH = 32 };
    static uint8_t plate[KW * KH * 4], back[KW * KH * 4], matte[KW * KH * 4], comp[KW * KH * 4];
    static float bigback[128 * 64 * 4];
    for (int y = 0; y < KH; y++) {
        for (int x = 0; x < KW; x++) {
            uint8_t *p = plate + (y * KW + x) * 4;
            int inside = x >= 24 && x < 40 && y >= 8 && y < 24;
            p[0] = inside ? 150 : 30;
            p[1] = inside ? 140 : 190;
            p[2] = inside ? 130 : 40;
            p[3] = 255;
            uint8_t *b = back + (y * KW + x) * 4;
            b[0] = 200; b[1] = 20; b[2] = 220; b[3] = 255;
        }
    }
    for (int i = 0; i < 128 * 64; i++) {
        bigback[i * 4 + 0] = 0.0f; bigback[i * 4 + 1] = 0.0f; bigback[i * 4 + 2] = 1.0f; bigback[i * 4 + 3] = 1.0f;
    }
    mb_image iplate = img(plate, sizeof plate, KW, KH, KW * 4, MB_PIXEL_FORMAT_RGBA8);
    mb_image iback = img(back, sizeof back, KW, KH, KW * 4, MB_PIXEL_FORMAT_RGBA8);
    mb_image imatte = img(matte, sizeof matte, KW, KH, KW * 4, MB_PIXEL_FORMAT_RGBA8);
    mb_image icomp = img(comp, sizeof comp, KW, KH, KW * 4, MB_PIXEL_FORMAT_RGBA8);
    mb_image ibig = img(bigback, sizeof bigback, 128, 64, 128 * 16, MB_PIXEL_FORMAT_RGBA32F);

    mb_key_options ko;
    memset(&ko, 0, sizeof ko);
    EXPECT(mb_key_options_init(NULL), MB_RESULT_NULL_POINTER, "options");
    EXPECT(mb_key(rt, &iplate, &ko, &imatte, NULL), MB_RESULT_INVALID_ARGUMENT, "struct_size");
    EXPECT(mb_key_options_init(&ko), MB_RESULT_OK, NULL);
    CHECK(ko.struct_size == sizeof ko && ko.screen == MB_SCREEN_AUTO);
    EXPECT(mb_key(NULL, &iplate, &ko, &imatte, NULL), MB_RESULT_NULL_POINTER, "runtime");
    EXPECT(mb_key(rt, NULL, &ko, &imatte, NULL), MB_RESULT_NULL_POINTER, "plate");
    EXPECT(mb_key(rt, &iplate, NULL, &imatte, NULL), MB_RESULT_NULL_POINTER, "options");
    EXPECT(mb_key(rt, &iplate, &ko, NULL, NULL), MB_RESULT_NULL_POINTER, "matte_out");
    EXPECT(mb_key(rt, &iplate, &ko, &iplate, NULL), MB_RESULT_INVALID_ARGUMENT, "overlaps");
    EXPECT(mb_key(rt, &iplate, &ko, &io, NULL), MB_RESULT_INVALID_ARGUMENT, "32x16");
    ko.screen = 42;
    EXPECT(mb_key(rt, &iplate, &ko, &imatte, NULL), MB_RESULT_UNSUPPORTED, "screen 42");
    ko.screen = MB_SCREEN_GREEN;
    CHECK(ko.clip_black == MB_CLIP_AUTO && ko.clip_white == MB_CLIP_AUTO);
    ko.clip_black = 0.95f;
    ko.clip_white = 0.9f;
    EXPECT(mb_key(rt, &iplate, &ko, &imatte, NULL), MB_RESULT_INVALID_ARGUMENT, "clip_black");
    ko.clip_white = MB_CLIP_AUTO;
    ko.clip_black = 0.0f / 0.0f;
    EXPECT(mb_key(rt, &iplate, &ko, &imatte, NULL), MB_RESULT_INVALID_ARGUMENT, "MB_CLIP_AUTO");
    ko.clip_black = 0.12f;
    ko.blur = 1000.0f;
    EXPECT(mb_key(rt, &iplate, &ko, &imatte, NULL), MB_RESULT_INVALID_ARGUMENT, "blur");
    ko.blur = 0.0f;
    ko.screen = MB_SCREEN_BLUE;
    EXPECT(mb_key(rt, &iplate, &ko, &imatte, NULL), MB_RESULT_INVALID_ARGUMENT, "screen");
    ko.screen = MB_SCREEN_AUTO;
    mb_screen_info si;
    memset(&si, 0, sizeof si);
    EXPECT(mb_key(rt, &iplate, &ko, &imatte, &si), MB_RESULT_OK, NULL);
    CHECK(si.channel == 1 && si.coverage > 0.5f && si.colour[1] > 0.6f);
    CHECK(matte[(16 * KW + 32) * 4 + 3] == 255 && matte[(16 * KW + 32) * 4] == 255); /* the square */
    CHECK(matte[(2 * KW + 2) * 4 + 3] == 0 && matte[(2 * KW + 2) * 4] == 0);          /* the screen */
    /* No screen in a grey frame: a clear error, not a garbage matte. */
    EXPECT(mb_key(rt, &ia, &ko, &io, NULL), MB_RESULT_INVALID_ARGUMENT, "screen");

    mb_composite_options co;
    memset(&co, 0, sizeof co);
    mb_compositor *comp_state = (mb_compositor *)&failures;
    EXPECT(mb_composite_options_init(NULL), MB_RESULT_NULL_POINTER, "options");
    EXPECT(mb_compositor_new(&ko, &co, &comp_state), MB_RESULT_INVALID_ARGUMENT, "struct_size");
    CHECK(comp_state == NULL);
    EXPECT(mb_composite_options_init(&co), MB_RESULT_OK, NULL);
    EXPECT(mb_compositor_new(&ko, &co, NULL), MB_RESULT_NULL_POINTER, "out");
    EXPECT(mb_compositor_new(&ko, NULL, &comp_state), MB_RESULT_NULL_POINTER, "options");
    co.fit = 0;
    EXPECT(mb_compositor_new(&ko, &co, &comp_state), MB_RESULT_UNSUPPORTED, "fit 0");
    co.fit = MB_FIT_COVER;
    co.light_wrap = 2.0f;
    EXPECT(mb_compositor_new(&ko, &co, &comp_state), MB_RESULT_INVALID_ARGUMENT, "light wrap");
    co.light_wrap = 0.0f;
    co.matte_channel = 7;
    EXPECT(mb_compositor_new(&ko, &co, &comp_state), MB_RESULT_UNSUPPORTED, "matte_channel");
    co.matte_channel = MB_MATTE_ALPHA;
    co.defocus = 0.0f / 0.0f;
    EXPECT(mb_compositor_new(&ko, &co, &comp_state), MB_RESULT_INVALID_ARGUMENT, "NaN");
    co.defocus = 0.0f;
    EXPECT(mb_compositor_new(&ko, &co, &comp_state), MB_RESULT_OK, NULL);
    EXPECT(mb_compositor_screen(comp_state, &si), MB_RESULT_INVALID_ARGUMENT, "not keyed");
    EXPECT(mb_compositor_screen(NULL, &si), MB_RESULT_NULL_POINTER, "compositor");
    EXPECT(mb_compositor_screen(comp_state, NULL), MB_RESULT_NULL_POINTER, "out");
    EXPECT(mb_compositor_render(NULL, comp_state, &iplate, NULL, &iback, &icomp), MB_RESULT_NULL_POINTER, "runtime");
    EXPECT(mb_compositor_render(rt, NULL, &iplate, NULL, &iback, &icomp), MB_RESULT_NULL_POINTER, "compositor");
    EXPECT(mb_compositor_render(rt, comp_state, NULL, NULL, &iback, &icomp), MB_RESULT_NULL_POINTER, "plate");
    EXPECT(mb_compositor_render(rt, comp_state, &iplate, NULL, NULL, &icomp), MB_RESULT_NULL_POINTER, "background");
    EXPECT(mb_compositor_render(rt, comp_state, &iplate, NULL, &iback, NULL), MB_RESULT_NULL_POINTER, "out");
    EXPECT(mb_compositor_render(rt, comp_state, &iplate, NULL, &iback, &iback), MB_RESULT_INVALID_ARGUMENT, "overlaps");
    EXPECT(mb_compositor_render(rt, comp_state, &iplate, NULL, &iback, &io), MB_RESULT_INVALID_ARGUMENT, "32x16");
    EXPECT(mb_compositor_render(rt, comp_state, &iplate, NULL, &iback, &icomp), MB_RESULT_OK, NULL);
    /* Square kept (grey), screen replaced by the magenta background. */
    const uint8_t *in_sq = comp + (16 * KW + 32) * 4, *in_bg = comp + (2 * KW + 2) * 4;
    CHECK(in_sq[0] > 120 && in_sq[1] > 110 && in_sq[2] > 100 && in_sq[1] < 170);
    CHECK(in_bg[0] == 200 && in_bg[1] == 20 && in_bg[2] == 220 && in_bg[3] == 255);
    EXPECT(mb_compositor_screen(comp_state, &si), MB_RESULT_OK, NULL);
    CHECK(si.channel == 1);
    /* A background of another size and format is fitted (cover). */
    EXPECT(mb_compositor_render(rt, comp_state, &iplate, NULL, &ibig, &icomp), MB_RESULT_OK, NULL);
    CHECK(in_bg[0] == 0 && in_bg[1] == 0 && in_bg[2] == 255);
    EXPECT(mb_compositor_keep_person(NULL), MB_RESULT_NULL_POINTER, "compositor");
    EXPECT(mb_compositor_keep_person(comp_state), MB_RESULT_INVALID_ARGUMENT, "before the first");
    mb_compositor_free(NULL);
    mb_compositor_free(comp_state);

    /* Without key options the host supplies the matte (here in alpha). */
    EXPECT(mb_compositor_new(NULL, &co, &comp_state), MB_RESULT_OK, NULL);
    EXPECT(mb_compositor_render(rt, comp_state, &iplate, NULL, &iback, &icomp), MB_RESULT_NULL_POINTER, "matte");
    EXPECT(mb_compositor_render(rt, comp_state, &iplate, &io, &iback, &icomp), MB_RESULT_INVALID_ARGUMENT, "32x16");
    EXPECT(mb_compositor_render(rt, comp_state, &iplate, &icomp, &iback, &icomp), MB_RESULT_INVALID_ARGUMENT, "overlaps");
    EXPECT(mb_compositor_screen(comp_state, &si), MB_RESULT_INVALID_ARGUMENT, "host's matte");
    EXPECT(mb_compositor_keep_person(comp_state), MB_RESULT_INVALID_ARGUMENT, "host's matte");
    EXPECT(mb_compositor_render(rt, comp_state, &iplate, &imatte, &iback, &icomp), MB_RESULT_OK, NULL);
    CHECK(in_bg[0] == 200 && in_bg[1] == 20 && in_bg[2] == 220);
    CHECK(in_sq[0] > 120 && in_sq[1] < 170);
    mb_compositor_free(comp_state);

    /* Generation: the service, requests, jobs, takes. */
    mb_generations *gens = (mb_generations *)&failures;
    EXPECT(mb_generations_new(NULL, &gens), MB_RESULT_NULL_POINTER, "runtime");
    CHECK(gens == NULL);
    EXPECT(mb_generations_new(rt, NULL), MB_RESULT_NULL_POINTER, "out");
    EXPECT(mb_generations_new(rt, &gens), MB_RESULT_OK, NULL);
    EXPECT(mb_generations_load_adapter(NULL, adapter), MB_RESULT_NULL_POINTER, "generations");
    EXPECT(mb_generations_load_adapter(gens, NULL), MB_RESULT_NULL_POINTER, "path");
    EXPECT(mb_generations_load_adapter(gens, "/nonexistent/adapter"), MB_RESULT_NOT_FOUND, "/nonexistent/adapter");
    EXPECT(mb_generations_load_adapter(gens, junk), MB_RESULT_INVALID_ARGUMENT, "manifest");
    EXPECT(mb_generations_load_adapter(gens, adapter), MB_RESULT_OK, NULL);
    /* Installed adapters load by id only: never a path, never "..". */
    EXPECT(mb_generations_load_installed(NULL, "sweep"), MB_RESULT_NULL_POINTER, "generations");
    EXPECT(mb_generations_load_installed(gens, NULL), MB_RESULT_NULL_POINTER, "id");
    EXPECT(mb_generations_load_installed(gens, adapter), MB_RESULT_INVALID_ARGUMENT, "not an adapter id");
    EXPECT(mb_generations_load_installed(gens, "../sweep"), MB_RESULT_INVALID_ARGUMENT, "not an adapter id");
    EXPECT(mb_generations_load_installed(gens, ""), MB_RESULT_INVALID_ARGUMENT, "not an adapter id");
    EXPECT(mb_generations_load_installed(gens, "not-installed"), MB_RESULT_NOT_FOUND, "not-installed");
    EXPECT(mb_generations_load_installed(gens, "sweep"), MB_RESULT_OK, NULL);
    char version[16];
    EXPECT(mb_installed_adapter_version(NULL, version, sizeof version), MB_RESULT_NULL_POINTER, "id");
    EXPECT(mb_installed_adapter_version("sweep", NULL, sizeof version), MB_RESULT_NULL_POINTER, "buf");
    EXPECT(mb_installed_adapter_version("../sweep", version, sizeof version), MB_RESULT_INVALID_ARGUMENT, "not an adapter id");
    EXPECT(mb_installed_adapter_version("not-installed", version, sizeof version), MB_RESULT_NOT_FOUND, "not-installed");
    EXPECT(mb_installed_adapter_version("sweep", version, 3), MB_RESULT_INVALID_ARGUMENT, "needs 6");
    EXPECT(mb_installed_adapter_version("sweep", version, sizeof version), MB_RESULT_OK, NULL);
    CHECK(strcmp(version, "0.1.0") == 0);

    mb_shot_request req;
    EXPECT(mb_shot_request_init(NULL), MB_RESULT_NULL_POINTER, "request");
    EXPECT(mb_shot_request_init(&req), MB_RESULT_OK, NULL);
    CHECK(req.width == 1280 && req.fps_num == 24 && req.duration_num == 2);
    req.width = 64;
    req.height = 36;
    req.fps_num = 8;
    req.duration_num = 1;
    req.prompt = "a test sweep";
    req.camera[2] = 0.5f; /* pan */
    mb_generation *job = (mb_generation *)&failures;
    EXPECT(mb_generation_submit(NULL, "builtin", &req, 1, &job), MB_RESULT_NULL_POINTER, "generations");
    CHECK(job == NULL);
    EXPECT(mb_generation_submit(gens, NULL, &req, 1, &job), MB_RESULT_NULL_POINTER, "generator");
    EXPECT(mb_generation_submit(gens, "builtin", NULL, 1, &job), MB_RESULT_NULL_POINTER, "request");
    EXPECT(mb_generation_submit(gens, "builtin", &req, 1, NULL), MB_RESULT_NULL_POINTER, "out");
    EXPECT(mb_generation_submit(gens, "nobody", &req, 1, &job), MB_RESULT_NOT_FOUND, "builtin");
    EXPECT(mb_generation_submit(gens, "builtin", &req, 0, &job), MB_RESULT_INVALID_ARGUMENT, "takes");
    EXPECT(mb_generation_submit(gens, "builtin", &req, 17, &job), MB_RESULT_INVALID_ARGUMENT, "takes");
    req.width = 63;
    EXPECT(mb_generation_submit(gens, "builtin", &req, 1, &job), MB_RESULT_INVALID_ARGUMENT, "even");
    req.width = 64;
    req.camera[2] = 5.0f;
    EXPECT(mb_generation_submit(gens, "builtin", &req, 1, &job), MB_RESULT_INVALID_ARGUMENT, "pan");
    req.camera[2] = 0.5f;
    req.fps_den = 0;
    EXPECT(mb_generation_submit(gens, "builtin", &req, 1, &job), MB_RESULT_INVALID_ARGUMENT, "denominator");
    req.fps_den = 1;
    req.extras_count = 1;
    EXPECT(mb_generation_submit(gens, "builtin", &req, 1, &job), MB_RESULT_NULL_POINTER, "extras");
    const char *extras[] = {"easing", "linear"};
    req.extras = extras;
    mb_image bad_first = img(NULL, 10, 4, 4, 16, MB_PIXEL_FORMAT_RGBA8);
    req.first_frame = &bad_first;
    EXPECT(mb_generation_submit(gens, "builtin", &req, 1, &job), MB_RESULT_NULL_POINTER, "first_frame");
    req.first_frame = NULL;
    req.struct_size = 3;
    EXPECT(mb_generation_submit(gens, "builtin", &req, 1, &job), MB_RESULT_INVALID_ARGUMENT, "struct_size");
    req.struct_size = sizeof req;

    /* Two takes from the built-in generator, then the adapter's. */
    EXPECT(mb_generation_submit(gens, "builtin", &req, 2, &job), MB_RESULT_OK, NULL);
    uint32_t count = 0, finished = 0;
    EXPECT(mb_generation_take_count(NULL, &count), MB_RESULT_NULL_POINTER, "job");
    EXPECT(mb_generation_take_count(job, NULL), MB_RESULT_NULL_POINTER, "out");
    EXPECT(mb_generation_take_count(job, &count), MB_RESULT_OK, NULL);
    CHECK(count == 2);
    EXPECT(mb_generation_wait(NULL, 0, &finished), MB_RESULT_NULL_POINTER, "job");
    EXPECT(mb_generation_wait(job, 0, NULL), MB_RESULT_NULL_POINTER, "finished");
    while (!finished) EXPECT(mb_generation_wait(job, 100, &finished), MB_RESULT_OK, NULL);
    mb_take_status ts;
    memset(&ts, 0, sizeof ts);
    EXPECT(mb_generation_status(job, 0, &ts), MB_RESULT_INVALID_ARGUMENT, "struct_size");
    ts.struct_size = sizeof ts;
    EXPECT(mb_generation_status(NULL, 0, &ts), MB_RESULT_NULL_POINTER, "job");
    EXPECT(mb_generation_status(job, 0, NULL), MB_RESULT_NULL_POINTER, "out");
    EXPECT(mb_generation_status(job, 2, &ts), MB_RESULT_INVALID_ARGUMENT, "take 2");
    EXPECT(mb_generation_status(job, 1, &ts), MB_RESULT_OK, NULL);
    CHECK(ts.stage == MB_TAKE_DONE && ts.frames == 8 && ts.error == MB_RESULT_OK && ts.fraction == 1.0f);
    mb_media *take = (mb_media *)&failures;
    EXPECT(mb_generation_open_take(NULL, 0, &take), MB_RESULT_NULL_POINTER, "job");
    CHECK(take == NULL);
    EXPECT(mb_generation_open_take(job, 0, NULL), MB_RESULT_NULL_POINTER, "out");
    EXPECT(mb_generation_open_take(job, 9, &take), MB_RESULT_INVALID_ARGUMENT, "take 9");
    EXPECT(mb_generation_open_take(job, 1, &take), MB_RESULT_OK, NULL);
    char dir[4096];
    EXPECT(mb_generation_take_dir(NULL, 0, dir, sizeof dir), MB_RESULT_NULL_POINTER, "job");
    EXPECT(mb_generation_take_dir(job, 0, NULL, sizeof dir), MB_RESULT_NULL_POINTER, "buf");
    EXPECT(mb_generation_take_dir(job, 9, dir, sizeof dir), MB_RESULT_INVALID_ARGUMENT, "take 9");
    EXPECT(mb_generation_take_dir(job, 1, dir, 4), MB_RESULT_INVALID_ARGUMENT, "holds 4 bytes");
    EXPECT(mb_generation_take_dir(job, 1, dir, sizeof dir), MB_RESULT_OK, NULL);
    {
        /* The folder holds the take's frames, numbered. */
        char first_png[4200];
        snprintf(first_png, sizeof first_png, "%s/frame_000001.png", dir);
        FILE *f = fopen(first_png, "rb");
        CHECK(f != NULL);
        if (f) fclose(f);
    }
    mb_media_info ti;
    memset(&ti, 0, sizeof ti);
    ti.struct_size = sizeof ti;
    EXPECT(mb_media_get_info(take, &ti), MB_RESULT_OK, NULL);
    CHECK(ti.width == 64 && ti.height == 36 && ti.frame_count == 8 && ti.frame_rate_num == 8);
    static uint8_t take_px[64 * 36 * 4];
    mb_image iframe = img(take_px, sizeof take_px, 64, 36, 64 * 4, MB_PIXEL_FORMAT_RGBA8);
    EXPECT(mb_media_read_frame(take, 7, &iframe), MB_RESULT_OK, NULL);
    CHECK(take_px[3] == 255 && (take_px[0] | take_px[1] | take_px[2]) != 0);
    mb_media_close(take);
    EXPECT(mb_generation_cancel(NULL), MB_RESULT_NULL_POINTER, "job");
    EXPECT(mb_generation_cancel(job), MB_RESULT_OK, NULL); /* finished: nothing to stop */
    mb_generation_free(job);
    mb_generation_free(NULL);

    /* The next shot continues that take (ABI 1.9): from its folder of frames. */
    req.source_video = dir;
    req.source_role = 9;
    EXPECT(mb_generation_submit(gens, "builtin", &req, 1, &job), MB_RESULT_UNSUPPORTED, "source_role");
    req.source_role = MB_VIDEO_ROLE_LIPSYNC;
    ts = one_take(gens, "builtin", &req, &job);
    CHECK(ts.stage == MB_TAKE_FAILED && ts.error == MB_RESULT_INVALID_ARGUMENT); /* the built-in generator cannot lip-sync */
    EXPECT(mb_generation_open_take(job, 0, &take), MB_RESULT_INVALID_ARGUMENT, "cannot lipsync");
    mb_generation_free(job);
    req.source_role = MB_VIDEO_ROLE_EXTEND;
    ts = one_take(gens, "builtin", &req, &job);
    CHECK(ts.stage == MB_TAKE_DONE && ts.frames == 8);
    mb_generation_free(job);
    req.source_video = "/nonexistent/take.mp4";
    EXPECT(mb_generation_submit(gens, "builtin", &req, 1, &job), MB_RESULT_NOT_FOUND, "/nonexistent/take.mp4");
    /* A host built against ABI 1.8 hands a shorter struct: still a request, without a source. */
    req.struct_size = (uint32_t)offsetof(mb_shot_request, source_video);
    EXPECT(mb_generation_submit(gens, "builtin", &req, 1, &job), MB_RESULT_OK, NULL);
    mb_generation_free(job);
    req.struct_size = sizeof req;
    req.source_video = NULL;

    ts = one_take(gens, "sweep", &req, &job);
    CHECK(ts.stage == MB_TAKE_DONE && ts.frames == 8);
    EXPECT(mb_generation_take_audio(job, 0, dir, sizeof dir), MB_RESULT_NOT_FOUND, "no sound");
    mb_generation_free(job);

    /* Sound (ABI 1.10): a dialogue line goes to the adapter, which hands it
       back as the take's sound; the take's WAV is in the take cache. */
    EXPECT(mb_generations_load_installed(gens, "hostile"), MB_RESULT_OK, NULL);
    const char *echo[] = {"mode", "source"};
    req.extras = echo;
    req.audio = line;
    req.audio_role = 7;
    EXPECT(mb_generation_submit(gens, "hostile", &req, 1, &job), MB_RESULT_UNSUPPORTED, "audio_role");
    req.audio_role = MB_SOUND_ROLE_DIALOGUE;
    req.audio = "/nonexistent/line.wav";
    EXPECT(mb_generation_submit(gens, "hostile", &req, 1, &job), MB_RESULT_NOT_FOUND, "/nonexistent/line.wav");
    req.audio = junk;
    EXPECT(mb_generation_submit(gens, "hostile", &req, 1, &job), MB_RESULT_MEDIA, "not a mov file");
    req.audio = line;
    ts = one_take(gens, "hostile", &req, &job);
    CHECK(ts.stage == MB_TAKE_DONE);
    EXPECT(mb_generation_take_audio(NULL, 0, dir, sizeof dir), MB_RESULT_NULL_POINTER, "job");
    EXPECT(mb_generation_take_audio(job, 0, NULL, sizeof dir), MB_RESULT_NULL_POINTER, "buf");
    EXPECT(mb_generation_take_audio(job, 3, dir, sizeof dir), MB_RESULT_INVALID_ARGUMENT, "does not exist");
    EXPECT(mb_generation_take_audio(job, 0, dir, 4), MB_RESULT_INVALID_ARGUMENT, "holds 4 bytes");
    EXPECT(mb_generation_take_audio(job, 0, dir, sizeof dir), MB_RESULT_OK, NULL);
    {
        /* The key (ABI 1.11) a host that cannot decode the line asks for: the take's own. */
        char key[128];
        EXPECT(mb_generation_take_key(NULL, "hostile", &req, 0, key, sizeof key), MB_RESULT_NULL_POINTER, "generations");
        EXPECT(mb_generation_take_key(gens, NULL, &req, 0, key, sizeof key), MB_RESULT_NULL_POINTER, "generator");
        EXPECT(mb_generation_take_key(gens, "hostile", &req, 0, NULL, sizeof key), MB_RESULT_NULL_POINTER, "buf");
        EXPECT(mb_generation_take_key(gens, "hostile", &req, 0, key, 8), MB_RESULT_INVALID_ARGUMENT, "holds 8 bytes");
        EXPECT(mb_generation_take_key(gens, "nothing-here", &req, 0, key, sizeof key), MB_RESULT_NOT_FOUND, "nothing-here");
        EXPECT(mb_generation_take_key(gens, "hostile", &req, 0, key, sizeof key), MB_RESULT_OK, NULL);
        CHECK(strlen(key) == 64 && strstr(dir, key) != NULL);
        char other[128];
        EXPECT(mb_generation_take_key(gens, "hostile", &req, 1, other, sizeof other), MB_RESULT_OK, NULL);
        CHECK(strcmp(key, other) != 0);
    }
    {
        FILE *f = fopen(dir, "rb");
        char riff[12] = {0};
        CHECK(f != NULL && fread(riff, 1, sizeof riff, f) == sizeof riff && memcmp(riff, "RIFF", 4) == 0 &&
              memcmp(riff + 8, "WAVE", 4) == 0);
        if (f) fclose(f);
    }
    mb_generation_free(job);
    /* A host built against ABI 1.9 hands a struct without the sound: read without it. */
    req.struct_size = (uint32_t)offsetof(mb_shot_request, audio);
    ts = one_take(gens, "hostile", &req, &job);
    CHECK(ts.stage == MB_TAKE_DONE);
    EXPECT(mb_generation_take_audio(job, 0, dir, sizeof dir), MB_RESULT_NOT_FOUND, "no sound");
    mb_generation_free(job);
    req.struct_size = sizeof req;
    req.audio = NULL;
    req.extras = extras;

    /* A long take, cancelled: it ends cancelled and cannot be opened. */
    req.width = 1920;
    req.height = 1080;
    req.duration_num = 60;
    req.fps_num = 24;
    EXPECT(mb_generation_submit(gens, "builtin", &req, 1, &job), MB_RESULT_OK, NULL);
    EXPECT(mb_generation_open_take(job, 0, &take), MB_RESULT_INVALID_ARGUMENT, "not finished");
    EXPECT(mb_generation_cancel(job), MB_RESULT_OK, NULL);
    finished = 0;
    while (!finished) EXPECT(mb_generation_wait(job, 100, &finished), MB_RESULT_OK, NULL);
    EXPECT(mb_generation_status(job, 0, &ts), MB_RESULT_OK, NULL);
    CHECK(ts.stage == MB_TAKE_CANCELLED && ts.error == MB_RESULT_CANCELLED);
    EXPECT(mb_generation_open_take(job, 0, &take), MB_RESULT_CANCELLED, "cancelled");
    mb_generation_free(job);
    mb_generations_free(gens);
    mb_generations_free(NULL);

    /* Episodes: refused before they are run, and every handle checked. */
    mb_episode *episode = (mb_episode *)&failures; /* garbage that must be overwritten with NULL */
    EXPECT(mb_episode_open(NULL, &episode), MB_RESULT_NULL_POINTER, "path");
    EXPECT(mb_episode_open(junk, NULL), MB_RESULT_NULL_POINTER, "out");
    EXPECT(mb_episode_open(junk, &episode), MB_RESULT_INVALID_ARGUMENT, junk);
    CHECK(episode == NULL);
    {
        char path[4200];
        snprintf(path, sizeof path, "%s/misuse-episode.toml", cache);
        FILE *f = fopen(path, "w");
        CHECK(f != NULL);
        if (f) {
            fputs("name = 'e'\n[[shots]]\nid = 'a'\n", f);
            fclose(f);
        }
        EXPECT(mb_episode_open(path, &episode), MB_RESULT_NOT_FOUND, "mattebox episode run");
    }
    uint32_t shots = 7;
    EXPECT(mb_episode_shot_count(NULL, &shots), MB_RESULT_NULL_POINTER, "episode");
    mb_episode_take et;
    memset(&et, 0, sizeof et);
    et.struct_size = sizeof et;
    EXPECT(mb_episode_chosen_take(NULL, 0, &et), MB_RESULT_NULL_POINTER, "episode");
    char text[64];
    EXPECT(mb_episode_take_text(NULL, 0, MB_EPISODE_TEXT_SHOT_ID, text, sizeof text), MB_RESULT_NULL_POINTER,
           "episode");
    mb_episode_free(NULL);

    mb_runtime_free(rt);

    if (failures) {
        fprintf(stderr, "abi_misuse: %d failures\n", failures);
        return 1;
    }
    printf("abi_misuse: all checks passed\n");
    return 0;
}
