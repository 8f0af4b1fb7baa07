/* The f32 weights of a model re-laid into panels (kernels/gemm_f32.h), and
 * the file beside the model that keeps them: "<model>.panels".
 *
 * On a CPU whose packed f32 GEMM is preferred (AVX-512), a loader hands every
 * matrix it wants re-laid to a panel_set, in a fixed order. The first load
 * packs them into memory and writes the panels file; later loads map that
 * file instead: no start-up cost, and its pages are shared between processes
 * like the model's own. The file is a safetensors file keyed by the model
 * file's identity (its unprompt.source_sha256, dtype and converter, its
 * size) and the layout version; one with another key, a damaged one, or one
 * whose tensors do not have the expected sizes is ignored and rewritten.
 * Writing is atomic (temporary + rename), so concurrent loads are safe;
 * failing to write (read-only directory, full disk) only means the next
 * load packs again. Models opened from memory (tests, bench) pack in
 * memory and write nothing.
 *
 * Mapped or packed, the panels hold the same bytes, so results do not
 * depend on whether the file existed. */
#ifndef UNPROMPT_ENGINE_RUNTIME_PANEL_CACHE_H
#define UNPROMPT_ENGINE_RUNTIME_PANEL_CACHE_H

#include <stddef.h>

#include "engine/runtime/weights.h"
#include "kernels/kernels.h"

typedef struct panel_set panel_set;

/* A set for the model in `wf` (which must outlive it). NULL when out of
 * memory. */
panel_set *panel_set_begin(const weights_file *wf, const kernel_table *kt);

/* Writes W[N][K] row-major into dst (N·K floats); 0 or -1. */
typedef int (*panel_source_fn)(void *user, float *dst);

/* Point lw (through `panel`) at the next matrix's panels: mapped from the
 * file when it holds them, else packed from `w` — or, when w is NULL, from
 * what src(user, ...) writes into a temporary (re-laid convolutions). The
 * mapped pages of `w` are released. -1 when out of memory. */
int panel_set_add(panel_set *s, size_t N, size_t K, const float *w, panel_source_fn src, void *user,
                  weight_panel *panel, linear_weights *lw);

/* After the last panel_set_add: write the panels file when anything had to
 * be packed. Never fails the load. */
void panel_set_finish(panel_set *s);

/* Frees the packed memory and unmaps the file: after the model is done. */
void panel_set_free(panel_set *s);

#endif
