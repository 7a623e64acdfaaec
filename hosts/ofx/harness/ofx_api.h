/*
 * ofx_api.h: the parts of the OpenFX C API the test host implements,
 * declared from the OFX image effect specification (1.4/1.5): handles,
 * rectangles, the plugin and host structs, and the property, image effect,
 * parameter, memory, multithread and message suites, member for member.
 */
#ifndef MATTEBOX_OFX_API_H
#define MATTEBOX_OFX_API_H

#include <stddef.h>

typedef int OfxStatus;
typedef double OfxTime;

typedef struct OfxPropertySetStruct *OfxPropertySetHandle;
typedef struct OfxImageEffectStruct *OfxImageEffectHandle;
typedef struct OfxImageClipStruct *OfxImageClipHandle;
typedef struct OfxImageMemoryStruct *OfxImageMemoryHandle;
typedef struct OfxParamStruct *OfxParamHandle;
typedef struct OfxParamSetStruct *OfxParamSetHandle;
typedef struct OfxMutex *OfxMutexHandle;

typedef struct { double x1, y1, x2, y2; } OfxRectD;
typedef struct { int x1, y1, x2, y2; } OfxRectI;
typedef struct { double min, max; } OfxRangeD;

typedef struct OfxHost {
    OfxPropertySetHandle host;
    const void *(*fetchSuite)(OfxPropertySetHandle host, const char *suiteName, int suiteVersion);
} OfxHost;

typedef OfxStatus(OfxPluginEntryPoint)(const char *action, const void *handle, OfxPropertySetHandle inArgs,
                                       OfxPropertySetHandle outArgs);

typedef struct OfxPlugin {
    const char *pluginApi;
    int apiVersion;
    const char *pluginIdentifier;
    unsigned int pluginVersionMajor;
    unsigned int pluginVersionMinor;
    void (*setHost)(OfxHost *host);
    OfxPluginEntryPoint *mainEntry;
} OfxPlugin;

typedef struct OfxPropertySuiteV1 {
    OfxStatus (*propSetPointer)(OfxPropertySetHandle, const char *, int, void *);
    OfxStatus (*propSetString)(OfxPropertySetHandle, const char *, int, const char *);
    OfxStatus (*propSetDouble)(OfxPropertySetHandle, const char *, int, double);
    OfxStatus (*propSetInt)(OfxPropertySetHandle, const char *, int, int);
    OfxStatus (*propSetPointerN)(OfxPropertySetHandle, const char *, int, void *const *);
    OfxStatus (*propSetStringN)(OfxPropertySetHandle, const char *, int, const char *const *);
    OfxStatus (*propSetDoubleN)(OfxPropertySetHandle, const char *, int, const double *);
    OfxStatus (*propSetIntN)(OfxPropertySetHandle, const char *, int, const int *);
    OfxStatus (*propGetPointer)(OfxPropertySetHandle, const char *, int, void **);
    OfxStatus (*propGetString)(OfxPropertySetHandle, const char *, int, char **);
    OfxStatus (*propGetDouble)(OfxPropertySetHandle, const char *, int, double *);
    OfxStatus (*propGetInt)(OfxPropertySetHandle, const char *, int, int *);
    OfxStatus (*propGetPointerN)(OfxPropertySetHandle, const char *, int, void **);
    OfxStatus (*propGetStringN)(OfxPropertySetHandle, const char *, int, char **);
    OfxStatus (*propGetDoubleN)(OfxPropertySetHandle, const char *, int, double *);
    OfxStatus (*propGetIntN)(OfxPropertySetHandle, const char *, int, int *);
    OfxStatus (*propReset)(OfxPropertySetHandle, const char *);
    OfxStatus (*propGetDimension)(OfxPropertySetHandle, const char *, int *);
} OfxPropertySuiteV1;

typedef struct OfxImageEffectSuiteV1 {
    OfxStatus (*getPropertySet)(OfxImageEffectHandle, OfxPropertySetHandle *);
    OfxStatus (*getParamSet)(OfxImageEffectHandle, OfxParamSetHandle *);
    OfxStatus (*clipDefine)(OfxImageEffectHandle, const char *, OfxPropertySetHandle *);
    OfxStatus (*clipGetHandle)(OfxImageEffectHandle, const char *, OfxImageClipHandle *, OfxPropertySetHandle *);
    OfxStatus (*clipGetPropertySet)(OfxImageClipHandle, OfxPropertySetHandle *);
    OfxStatus (*clipGetImage)(OfxImageClipHandle, OfxTime, const OfxRectD *, OfxPropertySetHandle *);
    OfxStatus (*clipReleaseImage)(OfxPropertySetHandle);
    OfxStatus (*clipGetRegionOfDefinition)(OfxImageClipHandle, OfxTime, OfxRectD *);
    int (*abort)(OfxImageEffectHandle);
    OfxStatus (*imageMemoryAlloc)(OfxImageEffectHandle, size_t, OfxImageMemoryHandle *);
    OfxStatus (*imageMemoryFree)(OfxImageMemoryHandle);
    OfxStatus (*imageMemoryLock)(OfxImageMemoryHandle, void **);
    OfxStatus (*imageMemoryUnlock)(OfxImageMemoryHandle);
} OfxImageEffectSuiteV1;

typedef struct OfxParameterSuiteV1 {
    OfxStatus (*paramDefine)(OfxParamSetHandle, const char *, const char *, OfxPropertySetHandle *);
    OfxStatus (*paramGetHandle)(OfxParamSetHandle, const char *, OfxParamHandle *, OfxPropertySetHandle *);
    OfxStatus (*paramSetGetPropertySet)(OfxParamSetHandle, OfxPropertySetHandle *);
    OfxStatus (*paramGetPropertySet)(OfxParamHandle, OfxPropertySetHandle *);
    OfxStatus (*paramGetValue)(OfxParamHandle, ...);
    OfxStatus (*paramGetValueAtTime)(OfxParamHandle, OfxTime, ...);
    OfxStatus (*paramGetDerivative)(OfxParamHandle, OfxTime, ...);
    OfxStatus (*paramGetIntegral)(OfxParamHandle, OfxTime, OfxTime, ...);
    OfxStatus (*paramSetValue)(OfxParamHandle, ...);
    OfxStatus (*paramSetValueAtTime)(OfxParamHandle, OfxTime, ...);
    OfxStatus (*paramGetNumKeys)(OfxParamHandle, unsigned int *);
    OfxStatus (*paramGetKeyTime)(OfxParamHandle, unsigned int, OfxTime *);
    OfxStatus (*paramGetKeyIndex)(OfxParamHandle, OfxTime, int, int *);
    OfxStatus (*paramDeleteKey)(OfxParamHandle, OfxTime);
    OfxStatus (*paramDeleteAllKeys)(OfxParamHandle);
    OfxStatus (*paramCopy)(OfxParamHandle, OfxParamHandle, OfxTime, const OfxRangeD *);
    OfxStatus (*paramEditBegin)(OfxParamSetHandle, const char *);
    OfxStatus (*paramEditEnd)(OfxParamSetHandle);
} OfxParameterSuiteV1;

typedef struct OfxMemorySuiteV1 {
    OfxStatus (*memoryAlloc)(void *, size_t, void **);
    OfxStatus (*memoryFree)(void *);
} OfxMemorySuiteV1;

typedef void(OfxThreadFunctionV1)(unsigned int threadIndex, unsigned int threadMax, void *customArg);

typedef struct OfxMultiThreadSuiteV1 {
    OfxStatus (*multiThread)(OfxThreadFunctionV1 func, unsigned int nThreads, void *customArg);
    OfxStatus (*multiThreadNumCPUs)(unsigned int *);
    OfxStatus (*multiThreadIndex)(unsigned int *);
    int (*multiThreadIsSpawnedThread)(void);
    OfxStatus (*mutexCreate)(OfxMutexHandle *, int);
    OfxStatus (*mutexDestroy)(const OfxMutexHandle);
    OfxStatus (*mutexLock)(const OfxMutexHandle);
    OfxStatus (*mutexUnLock)(const OfxMutexHandle);
    OfxStatus (*mutexTryLock)(const OfxMutexHandle);
} OfxMultiThreadSuiteV1;

typedef struct OfxMessageSuiteV1 {
    OfxStatus (*message)(void *handle, const char *messageType, const char *messageId, const char *format, ...);
} OfxMessageSuiteV1;

#define kOfxStatOK 0
#define kOfxStatFailed 1
#define kOfxStatErrFatal 2
#define kOfxStatErrUnknown 3
#define kOfxStatErrMissingHostFeature 4
#define kOfxStatErrUnsupported 5
#define kOfxStatErrExists 6
#define kOfxStatErrFormat 7
#define kOfxStatErrMemory 8
#define kOfxStatErrBadHandle 9
#define kOfxStatErrBadIndex 10
#define kOfxStatErrValue 11
#define kOfxStatReplyYes 12
#define kOfxStatReplyNo 13
#define kOfxStatReplyDefault 14

#endif
