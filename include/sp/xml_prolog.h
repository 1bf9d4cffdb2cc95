/*
 * xml_prolog: what may come before the root element of a SAML message we
 * receive (RS-05): an optional UTF-8 BOM, one XML declaration, whitespace.
 * Checked on the raw bytes, so a DOCTYPE is refused before libxml2 reads a
 * single declaration of it. Shared by the Response and logout parsers.
 */
#ifndef SP_XML_PROLOG_H
#define SP_XML_PROLOG_H

#include <stddef.h>

#define SP_XML_MAX_DECL 256 /* bytes of an XML declaration */

enum sp_xml_prolog {
    SP_XML_PROLOG_OK,
    SP_XML_PROLOG_DTD,       /* a <!DOCTYPE */
    SP_XML_PROLOG_MALFORMED, /* anything else out of place; *why says what */
};

/* Check the len bytes at p; *why gets a static English reason when not OK. */
enum sp_xml_prolog sp_xml_prolog_check(const void *p, size_t len, const char **why);

#endif /* SP_XML_PROLOG_H */
