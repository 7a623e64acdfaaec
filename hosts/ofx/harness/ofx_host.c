/*
 * ofx_host.c: a small headless OpenFX host, written from the OFX image
 * effect specification, to prove Mattebox.ofx.bundle the way Resolve, Nuke
 * or Natron would use it. Built with AddressSanitizer by the tests.
 *
 *   ofx_host BUNDLE describe
 *       Loads the bundle, loads every plugin, describes each in every
 *       context it declares, prints what it found, and unloads them.
 *   ofx_host BUNDLE render PLUGIN_ID CONTEXT IN_DIR FRAMES WIDTH HEIGHT OUT_DIR
 *            [--threads N] [--depth float|short|byte] [--unconnected] [--window x1,y1,x2,y2]
 *            [--main-clip NAME] [--clip NAME=DIR ...] [--press-first BUTTON] [--press BUTTON]
 *            [--render-scale S] [--pixel-aspect P] [--field-order lower|upper] [--range A,B]
 *            [--load-params FILE] [--save-params FILE] [name=value ...]
 *       Loads every plugin (a host scanning its bundles), describes
 *       PLUGIN_ID, then unloads every other plugin while PLUGIN_ID stays
 *       loaded (a host dropping one effect while another is in use), and
 *       runs the whole action sequence on an instance: create, clip
 *       preferences, time domain, begin sequence, then for each output frame
 *       (N threads at once) region of definition, regions of interest,
 *       frames needed, is identity, render; end sequence, destroy, unload.
 *       Input frames are IN_DIR/frame_NNNN.raw, top-down RGBA float32, for
 *       the clip named by --main-clip (Source by default); --clip adds more
 *       input clips (every frame in DIR); clips without input are
 *       unconnected. Outputs are written the same way to OUT_DIR.
 *
 *       As a host showing a proxy, --render-scale renders at scale S (0.5,
 *       0.25): every input image is area-averaged to ceil(S * size) pixels,
 *       outputs are that size, regions stay in canonical coordinates.
 *       --pixel-aspect gives every clip non-square pixels (the project is
 *       P * WIDTH canonical units wide); --field-order flags every clip as
 *       interlaced (whole frames are rendered: an effect must ask for that);
 *       --range renders output frames A..B instead of the time domain, as a
 *       host whose timeline runs past an input's end. --save-params writes
 *       every parameter's value when the instance is destroyed, and
 *       --load-params sets them before it is created: a project file.
 *
 * Checks, each a failure (exit status = their count): a frame fetched that
 * getFramesNeeded did not declare, an image never released, an action that
 * failed, a render that reported an error through the message suite.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ofx_api.h"

static int failures = 0;
static pthread_mutex_t failure_lock = PTHREAD_MUTEX_INITIALIZER;

static void fail(const char *format, ...) {
    va_list args;
    va_start(args, format);
    pthread_mutex_lock(&failure_lock);
    fprintf(stderr, "ofx_host: FAIL: ");
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    failures++;
    pthread_mutex_unlock(&failure_lock);
    va_end(args);
}

static void *xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        fprintf(stderr, "ofx_host: out of memory\n");
        exit(100);
    }
    return p;
}

static char *xstrdup(const char *s) {
    char *d = strdup(s ? s : "");
    if (!d) exit(100);
    return d;
}

/* ---------------------------------------------------------------- properties */

enum { P_INT, P_DOUBLE, P_STRING, P_POINTER };

typedef struct Prop {
    char *name;
    int type;
    int count;
    int *ints;
    double *doubles;
    char **strings;
    void **pointers;
    struct Prop *next;
} Prop;

struct OfxPropertySetStruct {
    Prop *first;
};

/* One lock for every property set: hosts may be called from any render thread. */
static pthread_mutex_t prop_lock = PTHREAD_MUTEX_INITIALIZER;

static OfxPropertySetHandle props_new(void) { return xcalloc(1, sizeof(struct OfxPropertySetStruct)); }

static void prop_clear(Prop *p) {
    for (int i = 0; i < p->count && p->strings; i++) free(p->strings[i]);
    free(p->ints);
    free(p->doubles);
    free(p->strings);
    free(p->pointers);
    p->ints = NULL;
    p->doubles = NULL;
    p->strings = NULL;
    p->pointers = NULL;
    p->count = 0;
}

static void props_free(OfxPropertySetHandle set) {
    if (!set) return;
    Prop *p = set->first;
    while (p) {
        Prop *next = p->next;
        prop_clear(p);
        free(p->name);
        free(p);
        p = next;
    }
    free(set);
}

static Prop *prop_find(OfxPropertySetHandle set, const char *name) {
    for (Prop *p = set->first; p; p = p->next)
        if (strcmp(p->name, name) == 0) return p;
    return NULL;
}

/* The property `name` of `type`, grown to hold index `index`. */
static Prop *prop_slot(OfxPropertySetHandle set, const char *name, int type, int index) {
    Prop *p = prop_find(set, name);
    if (!p) {
        p = xcalloc(1, sizeof(Prop));
        p->name = xstrdup(name);
        p->type = type;
        p->next = set->first;
        set->first = p;
    }
    if (p->type != type) {
        prop_clear(p);
        p->type = type;
    }
    if (index >= p->count) {
        int n = index + 1;
        p->ints = realloc(p->ints, n * sizeof(int));
        p->doubles = realloc(p->doubles, n * sizeof(double));
        p->strings = realloc(p->strings, n * sizeof(char *));
        p->pointers = realloc(p->pointers, n * sizeof(void *));
        if (!p->ints || !p->doubles || !p->strings || !p->pointers) exit(100);
        for (int i = p->count; i < n; i++) {
            p->ints[i] = 0;
            p->doubles[i] = 0.0;
            p->strings[i] = xstrdup("");
            p->pointers[i] = NULL;
        }
        p->count = n;
    }
    return p;
}

static OfxStatus set_pointer(OfxPropertySetHandle h, const char *n, int i, void *v) {
    if (!h || !n || i < 0) return kOfxStatErrBadHandle;
    pthread_mutex_lock(&prop_lock);
    prop_slot(h, n, P_POINTER, i)->pointers[i] = v;
    pthread_mutex_unlock(&prop_lock);
    return kOfxStatOK;
}
static OfxStatus set_string(OfxPropertySetHandle h, const char *n, int i, const char *v) {
    if (!h || !n || i < 0) return kOfxStatErrBadHandle;
    pthread_mutex_lock(&prop_lock);
    Prop *p = prop_slot(h, n, P_STRING, i);
    free(p->strings[i]);
    p->strings[i] = xstrdup(v);
    pthread_mutex_unlock(&prop_lock);
    return kOfxStatOK;
}
static OfxStatus set_double(OfxPropertySetHandle h, const char *n, int i, double v) {
    if (!h || !n || i < 0) return kOfxStatErrBadHandle;
    pthread_mutex_lock(&prop_lock);
    prop_slot(h, n, P_DOUBLE, i)->doubles[i] = v;
    pthread_mutex_unlock(&prop_lock);
    return kOfxStatOK;
}
static OfxStatus set_int(OfxPropertySetHandle h, const char *n, int i, int v) {
    if (!h || !n || i < 0) return kOfxStatErrBadHandle;
    pthread_mutex_lock(&prop_lock);
    prop_slot(h, n, P_INT, i)->ints[i] = v;
    pthread_mutex_unlock(&prop_lock);
    return kOfxStatOK;
}
static OfxStatus set_pointer_n(OfxPropertySetHandle h, const char *n, int c, void *const *v) {
    for (int i = 0; i < c; i++) set_pointer(h, n, i, v[i]);
    return kOfxStatOK;
}
static OfxStatus set_string_n(OfxPropertySetHandle h, const char *n, int c, const char *const *v) {
    for (int i = 0; i < c; i++) set_string(h, n, i, v[i]);
    return kOfxStatOK;
}
static OfxStatus set_double_n(OfxPropertySetHandle h, const char *n, int c, const double *v) {
    for (int i = 0; i < c; i++) set_double(h, n, i, v[i]);
    return kOfxStatOK;
}
static OfxStatus set_int_n(OfxPropertySetHandle h, const char *n, int c, const int *v) {
    for (int i = 0; i < c; i++) set_int(h, n, i, v[i]);
    return kOfxStatOK;
}

/* Reads need the property to exist with the right type and index. */
static OfxStatus get_any(OfxPropertySetHandle h, const char *n, int i, int type, void *out) {
    if (!h || !n || !out) return kOfxStatErrBadHandle;
    pthread_mutex_lock(&prop_lock);
    Prop *p = prop_find(h, n);
    OfxStatus status = kOfxStatOK;
    if (!p)
        status = kOfxStatErrUnknown;
    else if (i < 0 || i >= p->count)
        status = kOfxStatErrBadIndex;
    else if (p->type != type && !(type == P_DOUBLE && p->type == P_INT))
        status = kOfxStatErrValue;
    else if (type == P_INT)
        *(int *)out = p->ints[i];
    else if (type == P_DOUBLE)
        *(double *)out = p->type == P_INT ? (double)p->ints[i] : p->doubles[i];
    else if (type == P_STRING)
        *(char **)out = p->strings[i];
    else
        *(void **)out = p->pointers[i];
    pthread_mutex_unlock(&prop_lock);
    return status;
}
static OfxStatus get_pointer(OfxPropertySetHandle h, const char *n, int i, void **v) { return get_any(h, n, i, P_POINTER, v); }
static OfxStatus get_string(OfxPropertySetHandle h, const char *n, int i, char **v) { return get_any(h, n, i, P_STRING, v); }
static OfxStatus get_double(OfxPropertySetHandle h, const char *n, int i, double *v) { return get_any(h, n, i, P_DOUBLE, v); }
static OfxStatus get_int(OfxPropertySetHandle h, const char *n, int i, int *v) { return get_any(h, n, i, P_INT, v); }
static OfxStatus get_pointer_n(OfxPropertySetHandle h, const char *n, int c, void **v) {
    for (int i = 0; i < c; i++) {
        OfxStatus s = get_pointer(h, n, i, &v[i]);
        if (s) return s;
    }
    return kOfxStatOK;
}
static OfxStatus get_string_n(OfxPropertySetHandle h, const char *n, int c, char **v) {
    for (int i = 0; i < c; i++) {
        OfxStatus s = get_string(h, n, i, &v[i]);
        if (s) return s;
    }
    return kOfxStatOK;
}
static OfxStatus get_double_n(OfxPropertySetHandle h, const char *n, int c, double *v) {
    for (int i = 0; i < c; i++) {
        OfxStatus s = get_double(h, n, i, &v[i]);
        if (s) return s;
    }
    return kOfxStatOK;
}
static OfxStatus get_int_n(OfxPropertySetHandle h, const char *n, int c, int *v) {
    for (int i = 0; i < c; i++) {
        OfxStatus s = get_int(h, n, i, &v[i]);
        if (s) return s;
    }
    return kOfxStatOK;
}
static OfxStatus prop_reset(OfxPropertySetHandle h, const char *n) {
    (void)h;
    (void)n;
    return kOfxStatOK;
}
static OfxStatus prop_dimension(OfxPropertySetHandle h, const char *n, int *count) {
    if (!h || !n || !count) return kOfxStatErrBadHandle;
    pthread_mutex_lock(&prop_lock);
    Prop *p = prop_find(h, n);
    *count = p ? p->count : 0;
    pthread_mutex_unlock(&prop_lock);
    return p ? kOfxStatOK : kOfxStatErrUnknown;
}

static OfxPropertySuiteV1 property_suite = {
    set_pointer, set_string, set_double, set_int, set_pointer_n, set_string_n, set_double_n, set_int_n,
    get_pointer, get_string, get_double, get_int, get_pointer_n, get_string_n, get_double_n, get_int_n,
    prop_reset, prop_dimension,
};

static const char *str(OfxPropertySetHandle h, const char *n, int i) {
    char *v = NULL;
    return get_string(h, n, i, &v) == kOfxStatOK ? v : "";
}

/* ---------------------------------------------------------------- parameters */

typedef struct OfxParamStruct {
    char *name;
    char *type;
    OfxPropertySetHandle props;
    double dvalue;
    int ivalue;
    char *svalue;
    struct OfxParamStruct *next;
} Param;

struct OfxParamSetStruct {
    Param *first;
    OfxPropertySetHandle props;
};

static OfxParamSetHandle params_new(void) {
    OfxParamSetHandle s = xcalloc(1, sizeof(struct OfxParamSetStruct));
    s->props = props_new();
    return s;
}

static void params_free(OfxParamSetHandle s) {
    if (!s) return;
    Param *p = s->first;
    while (p) {
        Param *next = p->next;
        free(p->name);
        free(p->type);
        free(p->svalue);
        props_free(p->props);
        free(p);
        p = next;
    }
    props_free(s->props);
    free(s);
}

static Param *param_find(OfxParamSetHandle s, const char *name) {
    for (Param *p = s->first; p; p = p->next)
        if (strcmp(p->name, name) == 0) return p;
    return NULL;
}

static int is_int_type(const char *t) {
    return strcmp(t, "OfxParamTypeInteger") == 0 || strcmp(t, "OfxParamTypeChoice") == 0 ||
           strcmp(t, "OfxParamTypeBoolean") == 0;
}

static OfxStatus param_define(OfxParamSetHandle s, const char *type, const char *name, OfxPropertySetHandle *props) {
    if (!s || !type || !name) return kOfxStatErrBadHandle;
    if (param_find(s, name)) return kOfxStatErrExists;
    Param *p = xcalloc(1, sizeof(Param));
    p->name = xstrdup(name);
    p->type = xstrdup(type);
    p->props = props_new();
    p->svalue = xstrdup("");
    set_string(p->props, "OfxParamPropType", 0, type);
    set_string(p->props, "OfxPropName", 0, name);
    p->next = s->first;
    s->first = p;
    if (props) *props = p->props;
    return kOfxStatOK;
}

static OfxStatus param_get_handle(OfxParamSetHandle s, const char *name, OfxParamHandle *param, OfxPropertySetHandle *props) {
    if (!s || !name || !param) return kOfxStatErrBadHandle;
    Param *p = param_find(s, name);
    if (!p) return kOfxStatErrUnknown;
    *param = p;
    if (props) *props = p->props;
    return kOfxStatOK;
}

static OfxStatus paramset_props(OfxParamSetHandle s, OfxPropertySetHandle *props) {
    if (!s || !props) return kOfxStatErrBadHandle;
    *props = s->props;
    return kOfxStatOK;
}

static OfxStatus param_props(OfxParamHandle p, OfxPropertySetHandle *props) {
    if (!p || !props) return kOfxStatErrBadHandle;
    *props = p->props;
    return kOfxStatOK;
}

static OfxStatus param_get_v(OfxParamHandle p, va_list args) {
    if (!p) return kOfxStatErrBadHandle;
    if (is_int_type(p->type)) {
        int *v = va_arg(args, int *);
        if (!v) return kOfxStatErrBadHandle;
        *v = p->ivalue;
    } else if (strcmp(p->type, "OfxParamTypeDouble") == 0) {
        double *v = va_arg(args, double *);
        if (!v) return kOfxStatErrBadHandle;
        *v = p->dvalue;
    } else if (strcmp(p->type, "OfxParamTypeString") == 0) {
        char **v = va_arg(args, char **);
        if (!v) return kOfxStatErrBadHandle;
        *v = p->svalue;
    } else {
        return kOfxStatErrUnsupported;
    }
    return kOfxStatOK;
}

static OfxStatus param_get_value(OfxParamHandle p, ...) {
    va_list args;
    va_start(args, p);
    OfxStatus s = param_get_v(p, args);
    va_end(args);
    return s;
}

static OfxStatus param_get_value_at_time(OfxParamHandle p, OfxTime time, ...) {
    va_list args;
    va_start(args, time);
    OfxStatus s = param_get_v(p, args);
    va_end(args);
    return s;
}

static OfxStatus param_set_v(OfxParamHandle p, va_list args) {
    if (!p) return kOfxStatErrBadHandle;
    if (is_int_type(p->type))
        p->ivalue = va_arg(args, int);
    else if (strcmp(p->type, "OfxParamTypeDouble") == 0)
        p->dvalue = va_arg(args, double);
    else if (strcmp(p->type, "OfxParamTypeString") == 0) {
        free(p->svalue);
        p->svalue = xstrdup(va_arg(args, const char *));
    } else
        return kOfxStatErrUnsupported;
    return kOfxStatOK;
}

static OfxStatus param_set_value(OfxParamHandle p, ...) {
    va_list args;
    va_start(args, p);
    OfxStatus s = param_set_v(p, args);
    va_end(args);
    return s;
}

static OfxStatus param_set_value_at_time(OfxParamHandle p, OfxTime time, ...) {
    va_list args;
    va_start(args, time);
    OfxStatus s = param_set_v(p, args);
    va_end(args);
    return s;
}

static OfxStatus param_unsupported_t(OfxParamHandle p, OfxTime t, ...) {
    (void)p;
    (void)t;
    return kOfxStatErrUnsupported;
}
static OfxStatus param_integral(OfxParamHandle p, OfxTime a, OfxTime b, ...) {
    (void)p;
    (void)a;
    (void)b;
    return kOfxStatErrUnsupported;
}
static OfxStatus param_num_keys(OfxParamHandle p, unsigned int *n) {
    (void)p;
    if (n) *n = 0;
    return kOfxStatOK;
}
static OfxStatus param_key_time(OfxParamHandle p, unsigned int i, OfxTime *t) {
    (void)p;
    (void)i;
    (void)t;
    return kOfxStatErrBadIndex;
}
static OfxStatus param_key_index(OfxParamHandle p, OfxTime t, int d, int *i) {
    (void)p;
    (void)t;
    (void)d;
    (void)i;
    return kOfxStatFailed;
}
static OfxStatus param_delete_key(OfxParamHandle p, OfxTime t) {
    (void)p;
    (void)t;
    return kOfxStatErrBadIndex;
}
static OfxStatus param_delete_all(OfxParamHandle p) {
    (void)p;
    return kOfxStatOK;
}
static OfxStatus param_copy(OfxParamHandle a, OfxParamHandle b, OfxTime t, const OfxRangeD *r) {
    (void)a;
    (void)b;
    (void)t;
    (void)r;
    return kOfxStatErrUnsupported;
}
static OfxStatus param_edit_begin(OfxParamSetHandle s, const char *n) {
    (void)s;
    (void)n;
    return kOfxStatOK;
}
static OfxStatus param_edit_end(OfxParamSetHandle s) {
    (void)s;
    return kOfxStatOK;
}

static OfxParameterSuiteV1 parameter_suite = {
    param_define, param_get_handle, paramset_props, param_props, param_get_value, param_get_value_at_time,
    param_unsupported_t, param_integral, param_set_value, param_set_value_at_time, param_num_keys,
    param_key_time, param_key_index, param_delete_key, param_delete_all, param_copy, param_edit_begin,
    param_edit_end,
};

/* ---------------------------------------------------------------- effects, clips, images */

typedef struct OfxImageClipStruct {
    char *name;
    OfxPropertySetHandle props;
    struct OfxImageEffectStruct *effect;
    struct OfxImageClipStruct *next;
} Clip;

struct OfxImageEffectStruct {
    OfxPropertySetHandle props;
    OfxParamSetHandle params;
    Clip *clips;
};

static OfxImageEffectHandle effect_new(const char *type) {
    OfxImageEffectHandle e = xcalloc(1, sizeof(struct OfxImageEffectStruct));
    e->props = props_new();
    e->params = params_new();
    set_string(e->props, "OfxPropType", 0, type);
    return e;
}

static void effect_free(OfxImageEffectHandle e) {
    if (!e) return;
    Clip *c = e->clips;
    while (c) {
        Clip *next = c->next;
        free(c->name);
        props_free(c->props);
        free(c);
        c = next;
    }
    props_free(e->props);
    params_free(e->params);
    free(e);
}

static Clip *clip_find(OfxImageEffectHandle e, const char *name) {
    for (Clip *c = e->clips; c; c = c->next)
        if (strcmp(c->name, name) == 0) return c;
    return NULL;
}

static Clip *clip_add(OfxImageEffectHandle e, const char *name) {
    Clip *c = xcalloc(1, sizeof(Clip));
    c->name = xstrdup(name);
    c->props = props_new();
    c->effect = e;
    set_string(c->props, "OfxPropName", 0, name);
    set_string(c->props, "OfxPropType", 0, "OfxTypeClip");
    c->next = e->clips;
    e->clips = c;
    return c;
}

/* An input clip's frames: top-down float RGBA. */
typedef struct {
    char name[64];
    int frames;
    float **data;
} Input;

#define MAX_INPUTS 8
#define MAX_DECLARED 32

/* What the render command works on. */
static struct {
    int frames, width, height, bytes_per_pixel; /* frames: of the main input */
    const char *depth;
    Input inputs[MAX_INPUTS];
    int n_inputs;
    float **output;      /* top-down float frames, written after each render */
    int *output_written;
    atomic_int images_out; /* fetched and not yet released */
    int unconnected;
    double scale, par;    /* render scale, pixel aspect ratio */
    int pw, ph;           /* the size of every image at that scale */
    const char *field_order;
    int render_twice;     /* the effect's kOfxImageEffectPluginPropFieldRenderTwiceAlways */
} job;

static Input *input_named(const char *name) {
    for (int i = 0; i < job.n_inputs; i++)
        if (strcmp(job.inputs[i].name, name) == 0) return &job.inputs[i];
    return NULL;
}

/* Per render thread: the ranges getFramesNeeded declared for the frame rendering. */
typedef struct {
    const Input *input;
    double lo, hi;
} Declared;
static __thread Declared declared[MAX_DECLARED];
static __thread int n_declared = 0;
static __thread int rendering = 0;
/* Inside kOfxActionInstanceChanged, when effects may read any frame (to analyse a shot). */
static __thread int changing = 0;
static __thread int message_errors = 0;

typedef struct Lent {
    void *data;
    int output;   /* 1 for an Output image: copied back on release */
    double time;
} Lent;

static OfxStatus get_property_set(OfxImageEffectHandle e, OfxPropertySetHandle *props) {
    if (!e || !props) return kOfxStatErrBadHandle;
    *props = e->props;
    return kOfxStatOK;
}

static OfxStatus get_param_set(OfxImageEffectHandle e, OfxParamSetHandle *set) {
    if (!e || !set) return kOfxStatErrBadHandle;
    *set = e->params;
    return kOfxStatOK;
}

static OfxStatus clip_define(OfxImageEffectHandle e, const char *name, OfxPropertySetHandle *props) {
    if (!e || !name || !props) return kOfxStatErrBadHandle;
    if (clip_find(e, name)) return kOfxStatErrExists;
    *props = clip_add(e, name)->props;
    return kOfxStatOK;
}

static OfxStatus clip_get_handle(OfxImageEffectHandle e, const char *name, OfxImageClipHandle *clip, OfxPropertySetHandle *props) {
    if (!e || !name || !clip) return kOfxStatErrBadHandle;
    Clip *c = clip_find(e, name);
    if (!c) return kOfxStatErrUnknown;
    *clip = c;
    if (props) *props = c->props;
    return kOfxStatOK;
}

static OfxStatus clip_get_props(OfxImageClipHandle c, OfxPropertySetHandle *props) {
    if (!c || !props) return kOfxStatErrBadHandle;
    *props = c->props;
    return kOfxStatOK;
}

static void to_depth(const float *src, void *dst, size_t pixels) {
    if (strcmp(job.depth, "OfxBitDepthFloat") == 0) {
        memcpy(dst, src, pixels * 16);
    } else if (strcmp(job.depth, "OfxBitDepthShort") == 0) {
        unsigned short *d = dst;
        for (size_t i = 0; i < pixels * 4; i++) {
            float v = src[i] < 0 ? 0 : src[i] > 1 ? 1 : src[i];
            d[i] = (unsigned short)(v * 65535.0f + 0.5f);
        }
    } else {
        unsigned char *d = dst;
        for (size_t i = 0; i < pixels * 4; i++) {
            float v = src[i] < 0 ? 0 : src[i] > 1 ? 1 : src[i];
            d[i] = (unsigned char)(v * 255.0f + 0.5f);
        }
    }
}

static void from_depth(const void *src, float *dst, size_t pixels) {
    if (strcmp(job.depth, "OfxBitDepthFloat") == 0) {
        memcpy(dst, src, pixels * 16);
    } else if (strcmp(job.depth, "OfxBitDepthShort") == 0) {
        const unsigned short *s = src;
        for (size_t i = 0; i < pixels * 4; i++) dst[i] = s[i] / 65535.0f;
    } else {
        const unsigned char *s = src;
        for (size_t i = 0; i < pixels * 4; i++) dst[i] = s[i] / 255.0f;
    }
}

/* Images are stored bottom-up, as OFX has them: row 0 is y = 0, the bottom. */
static OfxStatus clip_get_image(OfxImageClipHandle c, OfxTime time, const OfxRectD *region, OfxPropertySetHandle *image) {
    (void)region;
    if (!c || !image) return kOfxStatErrBadHandle;
    *image = NULL;
    int output = strcmp(c->name, "Output") == 0;
    int frame = (int)floor(time + 0.5);
    const Input *input = NULL;
    if (!output) {
        input = input_named(c->name);
        if (!input || (job.unconnected && strcmp(c->name, job.inputs[0].name) == 0)) return kOfxStatFailed;
        int ok = 0;
        for (int i = 0; i < n_declared; i++)
            if (declared[i].input == input && time >= declared[i].lo - 1e-9 && time <= declared[i].hi + 1e-9) ok = 1;
        if (changing) {
            /* analysing the shot after a button: any frame may be read */
        } else if (!rendering) {
            fail("%s frame %g fetched outside a render action", c->name, time);
        } else if (!ok) {
            fail("%s frame %g fetched but getFramesNeeded did not declare it", c->name, time);
        }
        if (frame < 0 || frame >= input->frames) return kOfxStatFailed; /* past the clip: the host has nothing */
    }
    size_t row = (size_t)job.pw * job.bytes_per_pixel;
    Lent *lent = xcalloc(1, sizeof(Lent));
    lent->data = xcalloc((size_t)job.ph, row);
    lent->output = output;
    lent->time = time;
    if (!output) {
        for (int y = 0; y < job.ph; y++) /* flip: file rows are top-down */
            to_depth(input->data[frame] + (size_t)(job.ph - 1 - y) * job.pw * 4, (char *)lent->data + y * row,
                     (size_t)job.pw);
    }
    OfxPropertySetHandle p = props_new();
    set_string(p, "OfxPropType", 0, "OfxTypeImage");
    set_pointer(p, "OfxImagePropData", 0, lent->data);
    int bounds[4] = {0, 0, job.pw, job.ph};
    set_int_n(p, "OfxImagePropBounds", 4, bounds);
    set_int_n(p, "OfxImagePropRegionOfDefinition", 4, bounds);
    set_int(p, "OfxImagePropRowBytes", 0, (int)row);
    set_string(p, "OfxImageEffectPropPixelDepth", 0, job.depth);
    set_string(p, "OfxImageEffectPropComponents", 0, "OfxImageComponentRGBA");
    set_string(p, "OfxImageEffectPropPreMultiplication", 0, "OfxImageOpaque");
    set_double(p, "OfxImagePropPixelAspectRatio", 0, job.par);
    double scale[2] = {job.scale, job.scale};
    set_double_n(p, "OfxImageEffectPropRenderScale", 2, scale);
    set_string(p, "OfxImagePropField", 0, job.field_order ? "OfxFieldBoth" : "OfxFieldNone");
    char id[64];
    snprintf(id, sizeof id, "%s@%g/%g", c->name, time, job.scale);
    set_string(p, "OfxImagePropUniqueIdentifier", 0, id);
    set_pointer(p, "MatteboxHarnessLent", 0, lent);
    atomic_fetch_add(&job.images_out, 1);
    *image = p;
    return kOfxStatOK;
}

static OfxStatus clip_release_image(OfxPropertySetHandle image) {
    if (!image) return kOfxStatErrBadHandle;
    Lent *lent = NULL;
    if (get_pointer(image, "MatteboxHarnessLent", 0, (void **)&lent) != kOfxStatOK || !lent) return kOfxStatErrBadHandle;
    if (lent->output) {
        int frame = (int)floor(lent->time + 0.5);
        if (frame >= 0 && frame < job.frames * 64) {
            size_t row = (size_t)job.pw * job.bytes_per_pixel;
            pthread_mutex_lock(&failure_lock);
            if (job.output[frame] == NULL) job.output[frame] = xcalloc((size_t)job.pw * job.ph * 4, sizeof(float));
            for (int y = 0; y < job.ph; y++)
                from_depth((char *)lent->data + y * row, job.output[frame] + (size_t)(job.ph - 1 - y) * job.pw * 4,
                           (size_t)job.pw);
            job.output_written[frame] = 1;
            pthread_mutex_unlock(&failure_lock);
        }
    }
    free(lent->data);
    free(lent);
    props_free(image);
    atomic_fetch_sub(&job.images_out, 1);
    return kOfxStatOK;
}

static OfxStatus clip_get_rod(OfxImageClipHandle c, OfxTime time, OfxRectD *bounds) {
    (void)time;
    if (!c || !bounds) return kOfxStatErrBadHandle;
    /* Canonical coordinates: unscaled, square pixels. */
    bounds->x1 = 0;
    bounds->y1 = 0;
    bounds->x2 = job.width * job.par;
    bounds->y2 = job.height;
    return kOfxStatOK;
}

static int abort_render(OfxImageEffectHandle e) {
    (void)e;
    return 0;
}

static OfxStatus memory_alloc_image(OfxImageEffectHandle e, size_t n, OfxImageMemoryHandle *m) {
    (void)e;
    if (!m) return kOfxStatErrBadHandle;
    *m = (OfxImageMemoryHandle)xcalloc(1, n);
    return kOfxStatOK;
}
static OfxStatus memory_free_image(OfxImageMemoryHandle m) {
    free(m);
    return kOfxStatOK;
}
static OfxStatus memory_lock_image(OfxImageMemoryHandle m, void **p) {
    if (!m || !p) return kOfxStatErrBadHandle;
    *p = m;
    return kOfxStatOK;
}
static OfxStatus memory_unlock_image(OfxImageMemoryHandle m) {
    (void)m;
    return kOfxStatOK;
}

static OfxImageEffectSuiteV1 effect_suite = {
    get_property_set, get_param_set, clip_define, clip_get_handle, clip_get_props, clip_get_image,
    clip_release_image, clip_get_rod, abort_render, memory_alloc_image, memory_free_image, memory_lock_image,
    memory_unlock_image,
};

/* ---------------------------------------------------------------- memory, threads, messages */

static OfxStatus memory_alloc(void *h, size_t n, void **p) {
    (void)h;
    if (!p) return kOfxStatErrBadHandle;
    *p = malloc(n ? n : 1);
    return *p ? kOfxStatOK : kOfxStatErrMemory;
}
static OfxStatus memory_free(void *p) {
    free(p);
    return kOfxStatOK;
}
static OfxMemorySuiteV1 memory_suite = {memory_alloc, memory_free};

static __thread unsigned int thread_index = 0;
static __thread int spawned = 0;

typedef struct {
    OfxThreadFunctionV1 *func;
    unsigned int index, count;
    void *arg;
} Spawn;

static void *spawn_main(void *p) {
    Spawn *s = p;
    thread_index = s->index;
    spawned = 1;
    s->func(s->index, s->count, s->arg);
    return NULL;
}

static OfxStatus multi_thread(OfxThreadFunctionV1 func, unsigned int n, void *arg) {
    if (!func) return kOfxStatErrBadHandle;
    if (n == 0) n = 1;
    pthread_t *threads = xcalloc(n, sizeof(pthread_t));
    Spawn *spawns = xcalloc(n, sizeof(Spawn));
    for (unsigned int i = 0; i < n; i++) {
        spawns[i] = (Spawn){func, i, n, arg};
        pthread_create(&threads[i], NULL, spawn_main, &spawns[i]);
    }
    for (unsigned int i = 0; i < n; i++) pthread_join(threads[i], NULL);
    free(threads);
    free(spawns);
    return kOfxStatOK;
}
static OfxStatus num_cpus(unsigned int *n) {
    if (!n) return kOfxStatErrBadHandle;
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    *n = c > 0 ? (unsigned int)c : 1;
    return kOfxStatOK;
}
static OfxStatus thread_idx(unsigned int *i) {
    if (!i) return kOfxStatErrBadHandle;
    *i = thread_index;
    return kOfxStatOK;
}
static int is_spawned(void) { return spawned; }
static OfxStatus mutex_create(OfxMutexHandle *m, int count) {
    (void)count;
    if (!m) return kOfxStatErrBadHandle;
    pthread_mutex_t *mutex = xcalloc(1, sizeof(pthread_mutex_t));
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(mutex, &attr);
    pthread_mutexattr_destroy(&attr);
    *m = (OfxMutexHandle)mutex;
    return kOfxStatOK;
}
static OfxStatus mutex_destroy(const OfxMutexHandle m) {
    if (!m) return kOfxStatErrBadHandle;
    pthread_mutex_destroy((pthread_mutex_t *)m);
    free(m);
    return kOfxStatOK;
}
static OfxStatus mutex_lock(const OfxMutexHandle m) { return m && !pthread_mutex_lock((pthread_mutex_t *)m) ? kOfxStatOK : kOfxStatErrBadHandle; }
static OfxStatus mutex_unlock(const OfxMutexHandle m) { return m && !pthread_mutex_unlock((pthread_mutex_t *)m) ? kOfxStatOK : kOfxStatErrBadHandle; }
static OfxStatus mutex_trylock(const OfxMutexHandle m) { return m && !pthread_mutex_trylock((pthread_mutex_t *)m) ? kOfxStatOK : kOfxStatFailed; }
static OfxMultiThreadSuiteV1 thread_suite = {multi_thread, num_cpus, thread_idx, is_spawned, mutex_create,
                                              mutex_destroy, mutex_lock, mutex_unlock, mutex_trylock};

static OfxStatus message(void *handle, const char *type, const char *id, const char *format, ...) {
    (void)handle;
    (void)id;
    va_list args;
    va_start(args, format);
    char text[2048];
    vsnprintf(text, sizeof text, format ? format : "", args);
    va_end(args);
    printf("message %s: %s\n", type ? type : "?", text);
    fflush(stdout);
    if (type && strcmp(type, "OfxMessageError") == 0) message_errors++;
    return kOfxStatOK;
}
static OfxMessageSuiteV1 message_suite = {message};

/* ---------------------------------------------------------------- the host */

static OfxPropertySetHandle host_props;

static const void *fetch_suite(OfxPropertySetHandle host, const char *name, int version) {
    if (host != host_props || !name || version != 1) return NULL;
    if (strcmp(name, "OfxPropertySuite") == 0) return &property_suite;
    if (strcmp(name, "OfxImageEffectSuite") == 0) return &effect_suite;
    if (strcmp(name, "OfxParameterSuite") == 0) return &parameter_suite;
    if (strcmp(name, "OfxMemorySuite") == 0) return &memory_suite;
    if (strcmp(name, "OfxMultiThreadSuite") == 0) return &thread_suite;
    if (strcmp(name, "OfxMessageSuite") == 0) return &message_suite;
    return NULL;
}

static OfxHost host = {NULL, fetch_suite};

static OfxStatus call(OfxPlugin *plugin, const char *action, const void *handle, OfxPropertySetHandle in, OfxPropertySetHandle out) {
    return plugin->mainEntry(action, handle, in, out);
}

static void expect(OfxStatus got, int allow_default, const char *what) {
    if (got != kOfxStatOK && !(allow_default && got == kOfxStatReplyDefault)) fail("%s returned %d", what, got);
}

/* Prints every property of `set`, one per line, after `indent`: the
 * description a host would cache. Pointers print as set or NULL. */
static void print_props(const char *indent, OfxPropertySetHandle set) {
    for (Prop *p = set->first; p; p = p->next) {
        printf("%s%s =", indent, p->name);
        for (int i = 0; i < p->count; i++) {
            if (p->type == P_INT)
                printf(" %d", p->ints[i]);
            else if (p->type == P_DOUBLE)
                printf(" %g", p->doubles[i]);
            else if (p->type == P_STRING)
                printf(" \"%s\"", p->strings[i]);
            else
                printf(" %s", p->pointers[i] ? "set" : "NULL");
        }
        printf("\n");
    }
}

/* Describes `plugin` and each context; returns the descriptor of `want` (or NULL). */
static OfxImageEffectHandle describe(OfxPlugin *plugin, const char *want) {
    OfxImageEffectHandle descriptor = effect_new("OfxTypeImageEffect");
    expect(call(plugin, "OfxActionDescribe", descriptor, NULL, NULL), 0, "describe");
    int contexts = 0;
    prop_dimension(descriptor->props, "OfxImageEffectPropSupportedContexts", &contexts);
    if (contexts == 0) fail("%s declares no context", plugin->pluginIdentifier);
    printf("plugin %s %u.%u \"%s\" threads=%s\n", plugin->pluginIdentifier, plugin->pluginVersionMajor,
           plugin->pluginVersionMinor, str(descriptor->props, "OfxPropLabel", 0),
           str(descriptor->props, "OfxImageEffectPluginRenderThreadSafety", 0));
    print_props("    effect ", descriptor->props);
    OfxImageEffectHandle chosen = NULL;
    int twice = 1; /* the specification's default */
    if (get_int(descriptor->props, "OfxImageEffectPluginPropFieldRenderTwiceAlways", 0, &twice) != kOfxStatOK) twice = 1;
    if (want) job.render_twice = twice;
    for (int i = 0; i < contexts; i++) {
        const char *context = str(descriptor->props, "OfxImageEffectPropSupportedContexts", i);
        OfxImageEffectHandle in_context = effect_new("OfxTypeImageEffect");
        OfxPropertySetHandle in = props_new();
        set_string(in, "OfxImageEffectPropContext", 0, context);
        expect(call(plugin, "OfxImageEffectActionDescribeInContext", in_context, in, NULL), 0, "describe in context");
        props_free(in);
        printf("  context %s clips", context);
        for (Clip *c = in_context->clips; c; c = c->next) printf(" %s", c->name);
        printf(" params");
        for (Param *p = in_context->params->first; p; p = p->next) printf(" %s", p->name);
        printf("\n");
        for (Clip *c = in_context->clips; c; c = c->next) {
            char indent[128];
            snprintf(indent, sizeof indent, "    clip %s ", c->name);
            print_props(indent, c->props);
        }
        for (Param *p = in_context->params->first; p; p = p->next) {
            char indent[128];
            snprintf(indent, sizeof indent, "    param %s ", p->name);
            print_props(indent, p->props);
        }
        if (!clip_find(in_context, "Output")) fail("%s in %s has no Output clip", plugin->pluginIdentifier, context);
        if (want && strcmp(want, context) == 0 && !chosen)
            chosen = in_context;
        else
            effect_free(in_context);
    }
    effect_free(descriptor);
    return chosen;
}

/* `src` (w x h float RGBA) area-averaged to ow x oh: every source pixel
 * counts by how much of it each output pixel covers, as a host's proxy. */
static float *area_average(const float *src, int w, int h, int ow, int oh) {
    float *out = xcalloc((size_t)ow * oh * 4, sizeof(float));
    double sx = (double)w / ow, sy = (double)h / oh;
    for (int oy = 0; oy < oh; oy++) {
        double y0 = oy * sy, y1 = fmin((oy + 1) * sy, h);
        for (int ox = 0; ox < ow; ox++) {
            double x0 = ox * sx, x1 = fmin((ox + 1) * sx, w), acc[4] = {0, 0, 0, 0}, total = 0;
            for (int y = (int)floor(y0); y < (int)ceil(y1) && y < h; y++) {
                double wy = fmin(y1, y + 1.0) - fmax(y0, y);
                for (int x = (int)floor(x0); x < (int)ceil(x1) && x < w; x++) {
                    double wgt = wy * (fmin(x1, x + 1.0) - fmax(x0, x));
                    for (int c = 0; c < 4; c++) acc[c] += wgt * src[((size_t)y * w + x) * 4 + c];
                    total += wgt;
                }
            }
            for (int c = 0; c < 4; c++) out[((size_t)oy * ow + ox) * 4 + c] = (float)(acc[c] / total);
        }
    }
    return out;
}

static float *read_raw(const char *path, size_t floats) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "ofx_host: cannot open %s\n", path);
        exit(3);
    }
    float *data = xcalloc(floats, sizeof(float));
    if (fread(data, sizeof(float), floats, f) != floats) {
        fprintf(stderr, "ofx_host: %s is short\n", path);
        exit(3);
    }
    fclose(f);
    return data;
}

static void write_raw(const char *path, const float *data, size_t floats) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, sizeof(float), floats, f) != floats) {
        fprintf(stderr, "ofx_host: cannot write %s\n", path);
        exit(3);
    }
    fclose(f);
}

/* A project file: one parameter a line, name=value. */
static void save_params(OfxParamSetHandle set, const char *path) {
    FILE *f = fopen(path, "w");
    if (!f) {
        fail("cannot write %s", path);
        return;
    }
    for (Param *p = set->first; p; p = p->next) {
        if (strcmp(p->type, "OfxParamTypeString") == 0)
            fprintf(f, "%s=%s\n", p->name, p->svalue);
        else if (strcmp(p->type, "OfxParamTypeDouble") == 0)
            fprintf(f, "%s=%.17g\n", p->name, p->dvalue);
        else if (is_int_type(p->type))
            fprintf(f, "%s=%d\n", p->name, p->ivalue);
    }
    fclose(f);
}

static void load_params(OfxParamSetHandle set, const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fail("cannot read %s", path);
        return;
    }
    char line[8192];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *eq = strchr(line, '=');
        if (!eq) continue;
        *eq = 0;
        Param *p = param_find(set, line);
        if (!p) continue;
        p->dvalue = atof(eq + 1);
        p->ivalue = atoi(eq + 1);
        free(p->svalue);
        p->svalue = xstrdup(eq + 1);
    }
    fclose(f);
}

/* The user presses button `name`: kOfxActionInstanceChanged. */
static void press(OfxPlugin *plugin, OfxImageEffectHandle inst, const char *name, double time) {
    OfxPropertySetHandle changed = props_new();
    set_string(changed, "OfxPropType", 0, "OfxTypeParameter");
    set_string(changed, "OfxPropName", 0, name);
    set_string(changed, "OfxPropChangeReason", 0, "OfxChangeUserEdited");
    set_double(changed, "OfxPropTime", 0, time);
    double scale[2] = {job.scale, job.scale};
    set_double_n(changed, "OfxImageEffectPropRenderScale", 2, scale);
    changing = 1;
    message_errors = 0;
    OfxStatus pressed = plugin->mainEntry("OfxActionInstanceChanged", inst, changed, NULL);
    changing = 0;
    props_free(changed);
    if (pressed != kOfxStatOK) fail("pressing %s returned %d", name, pressed);
    if (message_errors) fail("pressing %s posted %d error messages", name, message_errors);
}

typedef struct {
    OfxPlugin *plugin;
    OfxImageEffectHandle instance;
    double first, last;
    atomic_int next;
    int window[4];
    int explicit_window;
} RenderJob;

static void render_one(RenderJob *r, double time) {
    OfxPlugin *plugin = r->plugin;
    OfxImageEffectHandle inst = r->instance;
    double scale[2] = {job.scale, job.scale};
    /* Region of definition, in canonical coordinates. */
    OfxPropertySetHandle in = props_new(), out = props_new();
    set_double(in, "OfxPropTime", 0, time);
    set_double_n(in, "OfxImageEffectPropRenderScale", 2, scale);
    double rod[4] = {0, 0, job.width * job.par, job.height};
    set_double_n(out, "OfxImageEffectPropRegionOfDefinition", 4, rod);
    expect(call(plugin, "OfxImageEffectActionGetRegionOfDefinition", inst, in, out), 1, "region of definition");
    props_free(in);
    props_free(out);
    /* Regions of interest. */
    in = props_new();
    out = props_new();
    set_double(in, "OfxPropTime", 0, time);
    set_double_n(in, "OfxImageEffectPropRenderScale", 2, scale);
    set_double_n(in, "OfxImageEffectPropRegionOfInterest", 4, rod);
    for (int k = 0; k < job.n_inputs; k++) {
        char name[128];
        snprintf(name, sizeof name, "OfxImageClipPropRoI_%s", job.inputs[k].name);
        set_double_n(out, name, 4, rod);
    }
    expect(call(plugin, "OfxImageEffectActionGetRegionsOfInterest", inst, in, out), 1, "regions of interest");
    props_free(in);
    props_free(out);
    /* Frames needed: the default is the frame itself, for every input. */
    in = props_new();
    out = props_new();
    set_double(in, "OfxPropTime", 0, time);
    double range[2] = {time, time};
    for (int k = 0; k < job.n_inputs; k++) {
        char name[128];
        snprintf(name, sizeof name, "OfxImageClipPropFrameRange_%s", job.inputs[k].name);
        set_double_n(out, name, 2, range);
    }
    expect(call(plugin, "OfxImageEffectActionGetFramesNeeded", inst, in, out), 1, "frames needed");
    n_declared = 0;
    for (int k = 0; k < job.n_inputs; k++) {
        char name[128];
        snprintf(name, sizeof name, "OfxImageClipPropFrameRange_%s", job.inputs[k].name);
        int n = 0;
        prop_dimension(out, name, &n);
        for (int i = 0; i + 1 < n && n_declared < MAX_DECLARED; i += 2) {
            double lo = 0, hi = 0;
            get_double(out, name, i, &lo);
            get_double(out, name, i + 1, &hi);
            declared[n_declared++] = (Declared){&job.inputs[k], lo, hi};
        }
    }
    props_free(in);
    props_free(out);
    int window[4] = {0, 0, job.pw, job.ph};
    if (r->explicit_window) memcpy(window, r->window, sizeof window);
    /* Is identity. */
    in = props_new();
    out = props_new();
    set_double(in, "OfxPropTime", 0, time);
    set_string(in, "OfxImageEffectPropFieldToRender", 0, job.field_order ? "OfxFieldBoth" : "OfxFieldNone");
    set_int_n(in, "OfxImageEffectPropRenderWindow", 4, window);
    set_double_n(in, "OfxImageEffectPropRenderScale", 2, scale);
    set_string(out, "OfxPropName", 0, "");
    set_double(out, "OfxPropTime", 0, time);
    OfxStatus identity = call(plugin, "OfxImageEffectActionIsIdentity", inst, in, out);
    expect(identity, 1, "is identity");
    int frame = (int)floor(time + 0.5);
    if (identity == kOfxStatOK) {
        /* The host copies the named clip's frame itself. */
        double source_time = 0;
        get_double(out, "OfxPropTime", 0, &source_time);
        int s = (int)floor(source_time + 0.5);
        const Input *named = input_named(str(out, "OfxPropName", 0));
        if (!named || s < 0 || s >= named->frames) {
            fail("is identity named %s at %g", str(out, "OfxPropName", 0), source_time);
        } else {
            pthread_mutex_lock(&failure_lock);
            if (!job.output[frame]) job.output[frame] = xcalloc((size_t)job.pw * job.ph * 4, sizeof(float));
            memcpy(job.output[frame], named->data[s], (size_t)job.pw * job.ph * 16);
            job.output_written[frame] = 1;
            pthread_mutex_unlock(&failure_lock);
        }
        props_free(in);
        props_free(out);
        return;
    }
    props_free(out);
    /* Render. */
    set_int(in, "OfxImageEffectPropSequentialRenderStatus", 0, 0);
    set_int(in, "OfxImageEffectPropInteractiveRenderStatus", 0, 0);
    rendering = 1;
    message_errors = 0;
    OfxStatus status = call(plugin, "OfxImageEffectActionRender", inst, in, NULL);
    rendering = 0;
    props_free(in);
    if (status != kOfxStatOK) fail("render at %g returned %d", time, status);
    if (message_errors) fail("render at %g posted %d error messages", time, message_errors);
}

static void *render_thread(void *p) {
    RenderJob *r = p;
    for (;;) {
        int i = atomic_fetch_add(&r->next, 1);
        double time = r->first + i;
        if (time > r->last + 1e-9) break;
        render_one(r, time);
    }
    return NULL;
}

static int render(OfxPlugin *plugin, OfxImageEffectHandle descriptor, const char *context, int argc, char **argv) {
    /* argv: IN_DIR FRAMES WIDTH HEIGHT OUT_DIR [options] [name=value] */
    if (argc < 5) {
        fprintf(stderr, "ofx_host: render needs IN_DIR FRAMES WIDTH HEIGHT OUT_DIR\n");
        return 2;
    }
    const char *in_dir = argv[0], *out_dir = argv[4];
    job.frames = atoi(argv[1]);
    job.width = atoi(argv[2]);
    job.height = atoi(argv[3]);
    job.depth = "OfxBitDepthFloat";
    job.scale = 1.0;
    job.par = 1.0;
    job.field_order = NULL;
    int threads = 1, has_range = 0;
    const char *save_to = NULL;
    double range_first = 0, range_last = 0;
    const char *presses[8], *first_presses[8];
    int n_presses = 0, n_first_presses = 0;
    RenderJob r;
    memset(&r, 0, sizeof r);
    r.plugin = plugin;
    /* The instance: clips and parameters as described for the context. */
    OfxImageEffectHandle inst = effect_new("OfxTypeImageEffectInstance");
    job.n_inputs = 1;
    snprintf(job.inputs[0].name, sizeof job.inputs[0].name, "Source");
    job.inputs[0].frames = job.frames;
    const char *input_dirs[MAX_INPUTS] = {in_dir};
    for (int a = 5; a < argc; a++) {
        /* Inputs first: the clips' properties depend on them. */
        if (strcmp(argv[a], "--main-clip") == 0 && a + 1 < argc) {
            snprintf(job.inputs[0].name, sizeof job.inputs[0].name, "%s", argv[++a]);
        } else if (strcmp(argv[a], "--render-scale") == 0 && a + 1 < argc) {
            job.scale = atof(argv[++a]);
            if (!(job.scale > 0 && job.scale <= 1)) return 2;
        } else if (strcmp(argv[a], "--pixel-aspect") == 0 && a + 1 < argc) {
            job.par = atof(argv[++a]);
            if (!(job.par > 0)) return 2;
        } else if (strcmp(argv[a], "--field-order") == 0 && a + 1 < argc) {
            const char *order = argv[++a];
            job.field_order = strcmp(order, "upper") == 0 ? "OfxFieldUpper" : "OfxFieldLower";
        } else if (strcmp(argv[a], "--range") == 0 && a + 1 < argc) {
            has_range = sscanf(argv[++a], "%lf,%lf", &range_first, &range_last) == 2;
        } else if (strcmp(argv[a], "--save-params") == 0 && a + 1 < argc) {
            save_to = argv[++a];
        } else if (strcmp(argv[a], "--clip") == 0 && a + 1 < argc && job.n_inputs < MAX_INPUTS) {
            const char *spec = argv[++a], *eq = strchr(spec, '=');
            if (!eq || (size_t)(eq - spec) >= sizeof job.inputs[0].name) return 2;
            Input *input = &job.inputs[job.n_inputs];
            memcpy(input->name, spec, eq - spec);
            input->name[eq - spec] = 0;
            input_dirs[job.n_inputs++] = eq + 1;
        }
    }
    /* Pixel sizes at the render scale (pixel width = canonical * scale / PAR). */
    job.pw = (int)ceil(job.width * job.scale - 1e-9);
    job.ph = (int)ceil(job.height * job.scale - 1e-9);
    for (int k = 0; k < job.n_inputs; k++) {
        Input *input = &job.inputs[k];
        if (k > 0) { /* as many frames as the directory holds */
            input->frames = 0;
            for (;;) {
                char path[4096];
                snprintf(path, sizeof path, "%s/frame_%04d.raw", input_dirs[k], input->frames);
                if (access(path, R_OK) != 0) break;
                input->frames++;
            }
        }
        input->data = xcalloc(input->frames ? input->frames : 1, sizeof(float *));
        for (int i = 0; i < input->frames; i++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/frame_%04d.raw", input_dirs[k], i);
            input->data[i] = read_raw(path, (size_t)job.width * job.height * 4);
            if (job.pw != job.width || job.ph != job.height) {
                float *proxy = area_average(input->data[i], job.width, job.height, job.pw, job.ph);
                free(input->data[i]);
                input->data[i] = proxy;
            }
        }
    }
    /* The instance, as a host describes its project: sizes in canonical
     * coordinates (square, unscaled pixels). */
    if (job.field_order && job.render_twice)
        fail("the clips are interlaced but the effect leaves kOfxImageEffectPluginPropFieldRenderTwiceAlways at 1: "
             "hosts would render it field by field, on half-height images");
    set_string(inst->props, "OfxImageEffectPropContext", 0, context);
    double project[2] = {job.width * job.par, job.height}, offset[2] = {0, 0};
    set_double_n(inst->props, "OfxImageEffectPropProjectSize", 2, project);
    set_double_n(inst->props, "OfxImageEffectPropProjectExtent", 2, project);
    set_double_n(inst->props, "OfxImageEffectPropProjectOffset", 2, offset);
    set_double(inst->props, "OfxImageEffectPropPixelAspectRatio", 0, job.par);
    set_double(inst->props, "OfxImageEffectInstancePropEffectDuration", 0, job.frames);
    set_int(inst->props, "OfxImageEffectInstancePropSequentialRender", 0, 0);
    set_int(inst->props, "OfxPropIsInteractive", 0, 0);
    set_double(inst->props, "OfxImageEffectPropFrameRate", 0, 24.0);
    set_pointer(inst->props, "OfxPropInstanceData", 0, NULL);
    for (Clip *c = descriptor->clips; c; c = c->next) {
        Clip *ic = clip_add(inst, c->name);
        const Input *input = input_named(c->name);
        int frames = input ? input->frames : job.frames;
        double range[2] = {0, frames - 1};
        set_double_n(ic->props, "OfxImageEffectPropFrameRange", 2, range);
        set_double_n(ic->props, "OfxImageEffectPropUnmappedFrameRange", 2, range);
        set_double(ic->props, "OfxImageEffectPropFrameRate", 0, 24.0);
        set_double(ic->props, "OfxImageEffectPropUnmappedFrameRate", 0, 24.0);
        set_string(ic->props, "OfxImageEffectPropComponents", 0, "OfxImageComponentRGBA");
        set_string(ic->props, "OfxImageClipPropUnmappedComponents", 0, "OfxImageComponentRGBA");
        set_string(ic->props, "OfxImageEffectPropPreMultiplication", 0, "OfxImageOpaque");
        set_double(ic->props, "OfxImagePropPixelAspectRatio", 0, job.par);
        set_string(ic->props, "OfxImageClipPropFieldOrder", 0, job.field_order ? job.field_order : "OfxFieldNone");
        set_int(ic->props, "OfxImageClipPropContinuousSamples", 0, 0);
        if (job.field_order && strcmp(c->name, "Output") != 0 && strcmp(str(c->props, "OfxImageClipPropFieldExtraction", 0), "OfxFieldBoth") != 0)
            fail("the clips are interlaced but %s does not ask for whole frames (kOfxImageClipPropFieldExtraction is \"%s\"): "
                 "hosts would give it single fields", c->name, str(c->props, "OfxImageClipPropFieldExtraction", 0));
        set_int(ic->props, "OfxImageClipPropConnected", 0, input || strcmp(c->name, "Output") == 0);
    }
    for (Param *p = descriptor->params->first; p; p = p->next) {
        Param *ip = NULL;
        OfxPropertySetHandle props = NULL;
        param_define(inst->params, p->type, p->name, &props);
        param_get_handle(inst->params, p->name, &ip, NULL);
        double d = 0;
        int i = 0;
        if (get_double(p->props, "OfxParamPropDefault", 0, &d) == kOfxStatOK) ip->dvalue = d;
        if (get_int(p->props, "OfxParamPropDefault", 0, &i) == kOfxStatOK) ip->ivalue = i;
    }
    for (int a = 5; a < argc; a++) {
        if (strcmp(argv[a], "--threads") == 0 && a + 1 < argc) {
            threads = atoi(argv[++a]);
        } else if (strcmp(argv[a], "--depth") == 0 && a + 1 < argc) {
            const char *d = argv[++a];
            job.depth = strcmp(d, "byte") == 0 ? "OfxBitDepthByte" : strcmp(d, "short") == 0 ? "OfxBitDepthShort" : "OfxBitDepthFloat";
        } else if (strcmp(argv[a], "--press") == 0 && a + 1 < argc && n_presses < 8) {
            presses[n_presses++] = argv[++a];
        } else if (strcmp(argv[a], "--press-first") == 0 && a + 1 < argc && n_first_presses < 8) {
            first_presses[n_first_presses++] = argv[++a];
        } else if ((strcmp(argv[a], "--main-clip") == 0 || strcmp(argv[a], "--clip") == 0 ||
                    strcmp(argv[a], "--render-scale") == 0 || strcmp(argv[a], "--pixel-aspect") == 0 ||
                    strcmp(argv[a], "--field-order") == 0 || strcmp(argv[a], "--range") == 0 ||
                    strcmp(argv[a], "--save-params") == 0) &&
                   a + 1 < argc) {
            a++; /* read above */
        } else if (strcmp(argv[a], "--unconnected") == 0) {
            job.unconnected = 1;
            Clip *main_clip = clip_find(inst, job.inputs[0].name);
            if (main_clip) set_int(main_clip->props, "OfxImageClipPropConnected", 0, 0);
        } else if (strcmp(argv[a], "--load-params") == 0 && a + 1 < argc) {
            load_params(inst->params, argv[++a]);
        } else if (strcmp(argv[a], "--window") == 0 && a + 1 < argc) {
            r.explicit_window = sscanf(argv[++a], "%d,%d,%d,%d", &r.window[0], &r.window[1], &r.window[2], &r.window[3]) == 4;
        } else {
            char name[256];
            const char *eq = strchr(argv[a], '=');
            if (!eq || (size_t)(eq - argv[a]) >= sizeof name) {
                fprintf(stderr, "ofx_host: bad argument %s\n", argv[a]);
                return 2;
            }
            memcpy(name, argv[a], eq - argv[a]);
            name[eq - argv[a]] = 0;
            Param *ip = param_find(inst->params, name);
            if (!ip) {
                fprintf(stderr, "ofx_host: no parameter %s\n", name);
                return 2;
            }
            ip->dvalue = atof(eq + 1);
            ip->ivalue = atoi(eq + 1);
            free(ip->svalue);
            ip->svalue = xstrdup(eq + 1);
        }
    }
    job.bytes_per_pixel = strcmp(job.depth, "OfxBitDepthFloat") == 0 ? 16 : strcmp(job.depth, "OfxBitDepthShort") == 0 ? 8 : 4;
    for (Clip *c = inst->clips; c; c = c->next) {
        set_string(c->props, "OfxImageEffectPropPixelDepth", 0, job.depth);
        set_string(c->props, "OfxImageClipPropUnmappedPixelDepth", 0, job.depth);
    }
    job.output = xcalloc((size_t)job.frames * 64, sizeof(float *));
    job.output_written = xcalloc((size_t)job.frames * 64, sizeof(int));

    expect(call(plugin, "OfxActionCreateInstance", inst, NULL, NULL), 0, "create instance");
    /* Buttons pressed before anything renders. */
    for (int i = 0; i < n_first_presses; i++) press(plugin, inst, first_presses[i], 0.0);
    OfxPropertySetHandle out = props_new();
    expect(call(plugin, "OfxImageEffectActionGetClipPreferences", inst, NULL, out), 1, "clip preferences");
    props_free(out);
    out = props_new();
    double domain[2] = {0, job.frames - 1};
    set_double_n(out, "OfxImageEffectPropFrameRange", 2, domain);
    expect(call(plugin, "OfxImageEffectActionGetTimeDomain", inst, NULL, out), 1, "time domain");
    get_double(out, "OfxImageEffectPropFrameRange", 0, &r.first);
    get_double(out, "OfxImageEffectPropFrameRange", 1, &r.last);
    props_free(out);
    if (has_range) {
        r.first = range_first;
        r.last = range_last;
    }
    if (r.last - r.first + 1 > job.frames * 64) {
        fail("time domain %g..%g is too long", r.first, r.last);
        r.last = r.first;
    }
    OfxPropertySetHandle in = props_new();
    double range[2] = {r.first, r.last};
    set_double_n(in, "OfxImageEffectPropFrameRange", 2, range);
    set_double(in, "OfxImageEffectPropFrameStep", 0, 1.0);
    set_int(in, "OfxPropIsInteractive", 0, 0);
    double scale[2] = {job.scale, job.scale};
    set_double_n(in, "OfxImageEffectPropRenderScale", 2, scale);
    expect(call(plugin, "OfxImageEffectActionBeginSequenceRender", inst, in, NULL), 1, "begin sequence render");

    r.instance = inst;
    atomic_init(&r.next, 0);
    pthread_t *pool = xcalloc(threads, sizeof(pthread_t));
    for (int t = 0; t < threads; t++) pthread_create(&pool[t], NULL, render_thread, &r);
    for (int t = 0; t < threads; t++) pthread_join(pool[t], NULL);
    free(pool);

    expect(call(plugin, "OfxImageEffectActionEndSequenceRender", inst, in, NULL), 1, "end sequence render");
    props_free(in);
    /* Buttons pressed by the user, after the render. */
    for (int i = 0; i < n_presses; i++) press(plugin, inst, presses[i], r.first);
    if (save_to) save_params(inst->params, save_to);
    expect(call(plugin, "OfxActionDestroyInstance", inst, NULL, NULL), 0, "destroy instance");
    if (atomic_load(&job.images_out) != 0) fail("%d images were never released", atomic_load(&job.images_out));

    int written = 0;
    for (int i = 0; i <= (int)(r.last - r.first); i++) {
        int frame = (int)r.first + i;
        if (frame < 0 || frame >= job.frames * 64 || !job.output_written[frame]) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/frame_%04d.raw", out_dir, i);
        write_raw(path, job.output[frame], (size_t)job.pw * job.ph * 4);
        written++;
    }
    printf("rendered %d frames (%g..%g) with %d threads at %s, %dx%d\n", written, r.first, r.last, threads, job.depth,
           job.pw, job.ph);
    for (int k = 0; k < job.n_inputs; k++) {
        for (int i = 0; i < job.inputs[k].frames; i++) free(job.inputs[k].data[i]);
        free(job.inputs[k].data);
    }
    for (int i = 0; i < job.frames * 64; i++) free(job.output[i]);
    free(job.output);
    free(job.output_written);
    effect_free(inst);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: ofx_host BUNDLE describe | render PLUGIN CONTEXT IN_DIR FRAMES W H OUT_DIR [...]\n");
        return 2;
    }
    char binary[4096];
    snprintf(binary, sizeof binary, "%s/Contents/Linux-x86-64/Mattebox.ofx", argv[1]);
    void *lib = dlopen(binary, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        fprintf(stderr, "ofx_host: cannot load %s: %s\n", binary, dlerror());
        return 3;
    }
    int (*count)(void) = (int (*)(void))dlsym(lib, "OfxGetNumberOfPlugins");
    OfxPlugin *(*get)(int) = (OfxPlugin * (*)(int)) dlsym(lib, "OfxGetPlugin");
    if (!count || !get) {
        fprintf(stderr, "ofx_host: %s lacks the OFX entry points\n", binary);
        return 3;
    }
    host_props = props_new();
    host.host = host_props;
    set_string(host_props, "OfxPropName", 0, "io.mattebox.testhost");
    set_string(host_props, "OfxPropLabel", 0, "Mattebox test host");
    /* The rest of a host's description, as the HostSupport library fills it. */
    int api_version[2] = {1, 4}, version[3] = {1, 0, 0};
    set_int_n(host_props, "OfxPropAPIVersion", 2, api_version);
    set_int_n(host_props, "OfxPropVersion", 3, version);
    set_string(host_props, "OfxPropVersionLabel", 0, "1.0");
    set_int(host_props, "OfxImageEffectHostPropIsBackground", 0, 1);
    set_int(host_props, "OfxImageEffectPropSupportsOverlays", 0, 0);
    set_int(host_props, "OfxImageEffectPropSupportsMultiResolution", 0, 1);
    set_int(host_props, "OfxImageEffectPropSupportsTiles", 0, 1);
    set_int(host_props, "OfxImageEffectPropTemporalClipAccess", 0, 1);
    const char *components[] = {"OfxImageComponentRGBA", "OfxImageComponentAlpha"};
    set_string_n(host_props, "OfxImageEffectPropSupportedComponents", 2, components);
    const char *contexts[] = {"OfxImageEffectContextFilter", "OfxImageEffectContextGeneral",
                              "OfxImageEffectContextGenerator"};
    set_string_n(host_props, "OfxImageEffectPropSupportedContexts", 3, contexts);
    const char *depths[] = {"OfxBitDepthFloat", "OfxBitDepthShort", "OfxBitDepthByte"};
    set_string_n(host_props, "OfxImageEffectPropSupportedPixelDepths", 3, depths);
    set_int(host_props, "OfxImageEffectPropMultipleClipDepths", 0, 0);
    set_int(host_props, "OfxImageEffectPropSupportsMultipleClipPARs", 0, 0);
    set_int(host_props, "OfxImageEffectPropSetableFrameRate", 0, 0);
    set_int(host_props, "OfxImageEffectPropSetableFielding", 0, 0);
    set_int(host_props, "OfxImageEffectInstancePropSequentialRender", 0, 0);
    set_int(host_props, "OfxParamHostPropSupportsCustomInteract", 0, 0);
    set_int(host_props, "OfxParamHostPropSupportsStringAnimation", 0, 0);
    set_int(host_props, "OfxParamHostPropSupportsChoiceAnimation", 0, 0);
    set_int(host_props, "OfxParamHostPropSupportsBooleanAnimation", 0, 0);
    set_int(host_props, "OfxParamHostPropSupportsCustomAnimation", 0, 0);
    set_int(host_props, "OfxParamHostPropMaxParameters", 0, -1);
    set_int(host_props, "OfxParamHostPropMaxPages", 0, 0);
    int page_size[2] = {0, 0};
    set_int_n(host_props, "OfxParamHostPropPageRowColumnCount", 2, page_size);
    set_int(host_props, "OfxImageEffectPropRenderQualityDraft", 0, 0);
    if (get(-1) != NULL || get(count()) != NULL) fail("OfxGetPlugin answers outside 0..count");
    int status = 0;
    int rendering = strcmp(argv[2], "render") == 0;
    if (rendering && argc < 5) return 2;
    /* Load every plugin first, as a host that scans its bundles does. */
    for (int i = 0; i < count(); i++) {
        OfxPlugin *plugin = get(i);
        if (!plugin || strcmp(plugin->pluginApi, "OfxImageEffectPluginAPI") != 0 || plugin->apiVersion != 1) {
            fail("plugin %d is not an image effect of API version 1", i);
            continue;
        }
        plugin->setHost(&host);
        expect(call(plugin, "OfxActionLoad", NULL, NULL, NULL), 1, "load");
        /* Unknown actions are answered with the default reply. */
        if (call(plugin, "OfxActionNoSuchThing", NULL, NULL, NULL) != kOfxStatReplyDefault)
            fail("%s does not answer an unknown action with kOfxStatReplyDefault", plugin->pluginIdentifier);
        if (!rendering) describe(plugin, NULL);
    }
    if (rendering) {
        OfxPlugin *target = NULL;
        for (int i = 0; i < count(); i++) {
            OfxPlugin *plugin = get(i);
            if (plugin && strcmp(plugin->pluginIdentifier, argv[3]) == 0) target = plugin;
        }
        OfxImageEffectHandle descriptor = target ? describe(target, argv[4]) : NULL;
        /* Then unload every other plugin while the one in use stays loaded:
         * a host may drop one effect while another has live instances. */
        for (int i = 0; i < count(); i++) {
            OfxPlugin *plugin = get(i);
            if (plugin && plugin != target) expect(call(plugin, "OfxActionUnload", NULL, NULL, NULL), 1, "unload");
        }
        if (!descriptor) {
            fail("%s does not support context %s", argv[3], argv[4]);
        } else {
            status = render(target, descriptor, argv[4], argc - 5, argv + 5);
            effect_free(descriptor);
        }
        if (target) expect(call(target, "OfxActionUnload", NULL, NULL, NULL), 1, "unload");
    } else {
        for (int i = 0; i < count(); i++) {
            OfxPlugin *plugin = get(i);
            if (plugin) expect(call(plugin, "OfxActionUnload", NULL, NULL, NULL), 1, "unload");
        }
    }
    props_free(host_props);
    dlclose(lib);
    if (failures) fprintf(stderr, "ofx_host: %d failures\n", failures);
    return failures ? 1 : status;
}
