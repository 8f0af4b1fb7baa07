/* The vector vocabulary of nn_simd_body.h for AArch64 Advanced SIMD (4 floats). */
#include <arm_neon.h>

typedef float32x4_t vf;
#define VL 4
static inline vf vload(const float *p) { return vld1q_f32(p); }
static inline void vstore(float *p, vf v) { vst1q_f32(p, v); }
static inline vf vset1(float x) { return vdupq_n_f32(x); }
static inline vf vadd(vf a, vf b) { return vaddq_f32(a, b); }
static inline vf vsub(vf a, vf b) { return vsubq_f32(a, b); }
static inline vf vmul(vf a, vf b) { return vmulq_f32(a, b); }
static inline vf vdiv(vf a, vf b) { return vdivq_f32(a, b); }
static inline vf vfma(vf a, vf b, vf c) { return vfmaq_f32(c, a, b); }
static inline vf vmax(vf a, vf b) { return vmaxq_f32(a, b); }
static inline vf vmin(vf a, vf b) { return vminq_f32(a, b); }
static inline vf vabs(vf a) { return vabsq_f32(a); }
static inline vf vcopysign(vf mag, vf sgn)
{
    uint32x4_t m = vdupq_n_u32(0x80000000u);
    return vbslq_f32(m, sgn, vabsq_f32(mag));
}
static inline vf vround(vf a) { return vrndnq_f32(a); }
static inline vf vpow2i(vf n)
{
    int32x4_t i = vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127));
    return vreinterpretq_f32_s32(vshlq_n_s32(i, 23));
}
static inline float vhsum(vf v) { return vaddvq_f32(v); }
static inline float vhmax(vf v) { return vmaxvq_f32(v); }
#define SIMD_NAME(x) x##_neon
