/* The page at / (serve_page.h). */
#include "tools/engine-run/serve_page.h"

const char serve_page_html[] =
    "<!doctype html><html><head><meta charset=\"utf-8\"><title>unprompt</title></head>"
    "<body><h1>unprompt</h1></body></html>\n";
const size_t serve_page_html_len = sizeof serve_page_html - 1;
