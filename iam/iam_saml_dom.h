#ifndef IAM_SAML_DOM_H
#define IAM_SAML_DOM_H

/*
 * Element lookups on a libxml2 tree, shared by the two loadable SAML modules
 * (iam/iam_saml_xml.c reads IdP metadata, sts/sts_saml_xml.c reads
 * assertions). Header only: it needs libxml2's headers, which only those two
 * modules (and this header's own check) are built with; no library of kmsd
 * links libxml2.
 */

#include <stdbool.h>

#include <libxml/tree.h>

/* libxml2 names are xmlChar; BAD_CAST drops const (-Wcast-qual). */
#define XC(s) ((const xmlChar *)(s))

/* Whether n is the element name in namespace ns. */
static inline bool iam_saml_is_elem(const xmlNode *n, const char *ns, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && n->ns && n->ns->href && xmlStrEqual(n->ns->href, XC(ns)) &&
           xmlStrEqual(n->name, XC(name));
}

/* n's first child element name in namespace ns, or NULL. */
static inline const xmlNode *iam_saml_child(const xmlNode *n, const char *ns, const char *name)
{
    for (const xmlNode *c = n ? n->children : NULL; c; c = c->next)
        if (iam_saml_is_elem(c, ns, name)) return c;
    return NULL;
}

#endif
