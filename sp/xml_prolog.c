/*
 * xml_prolog: see xml_prolog.h.
 */
#include <stdbool.h>
#include <string.h>

#include "sp/xml_prolog.h"

static bool is_xml_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

enum sp_xml_prolog sp_xml_prolog_check(const void *xml, size_t len, const char **why)
{
    const unsigned char *p = xml;
    size_t i = 0;

    *why = NULL;
    if (len >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
        i = 3;
    if (len - i > 6 && memcmp(p + i, "<?xml", 5) == 0 && is_xml_space(p[i + 5])) {
        size_t end = i + 5;
        size_t lim = len - i > SP_XML_MAX_DECL ? i + SP_XML_MAX_DECL : len;
        while (end + 1 < lim && !(p[end] == '?' && p[end + 1] == '>'))
            end++;
        if (end + 1 >= lim) {
            *why = "unterminated XML declaration";
            return SP_XML_PROLOG_MALFORMED;
        }
        i = end + 2;
    }
    while (i < len && is_xml_space(p[i]))
        i++;
    if (i >= len || p[i] != '<') {
        *why = "content before the root element";
        return SP_XML_PROLOG_MALFORMED;
    }
    if (i + 1 < len && p[i + 1] == '!') {
        if (len - i >= 9 && memcmp(p + i, "<!DOCTYPE", 9) == 0) {
            *why = "document type declaration refused";
            return SP_XML_PROLOG_DTD;
        }
        *why = "comment or declaration before the root";
        return SP_XML_PROLOG_MALFORMED;
    }
    if (i + 1 < len && p[i + 1] == '?') {
        *why = "processing instruction before the root";
        return SP_XML_PROLOG_MALFORMED;
    }
    return SP_XML_PROLOG_OK;
}
