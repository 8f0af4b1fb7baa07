/* The page `engine-run serve` answers at /: one self-contained HTML file
 * (inline CSS and JavaScript, no external assets) over the API routes. */
#ifndef UNPROMPT_TOOLS_SERVE_PAGE_H
#define UNPROMPT_TOOLS_SERVE_PAGE_H

#include <stddef.h>

extern const char serve_page_html[];
extern const size_t serve_page_html_len;

#endif
