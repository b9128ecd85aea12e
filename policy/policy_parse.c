#include "policy/policy_compiled.h"

#include <stdarg.h>
#include <stdio.h>

#include "core/core_json.h"
#include "core/core_limits.h"

/*
 * Validation and compilation of a policy document, once, when it is stored.
 * Grammar: IAM User Guide, "IAM JSON policy element reference" and "Grammar
 * of the IAM JSON policy language". Error wording follows IAM's
 * MalformedPolicyDocument messages where we know them ("Policy document
 * should not specify a principal.", "Missing required field Principal",
 * "Has prohibited field Resource", "Invalid principal in policy: ...",
 * "Syntax errors in policy.").
 */

struct pstate {
    struct pol_arena *arena;
    struct core_buf *reason;
    enum policy_problem *problem;
    enum policy_kind kind;
    bool v2012;
    size_t cond_values;
};

static core_result pfail_at(struct pstate *ps, enum policy_problem pr, enum core_err err, const char *file,
                            int line, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static core_result pfail_at(struct pstate *ps, enum policy_problem pr, enum core_err err, const char *file,
                            int line, const char *fmt, ...)
{
    if (ps->problem) *ps->problem = pr;
    if (ps->reason) {
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        core_buf_reset(ps->reason);
        core_result_ignore(core_buf_append_str(ps->reason, msg));
    }
    return core_result_fail_at(err, file, line);
}

#define PFAIL(ps, pr, ...) return pfail_at((ps), (pr), ERR_PARSE, __FILE__, __LINE__, __VA_ARGS__)
#define PLIMIT(ps, ...) return pfail_at((ps), POLICY_PROBLEM_SIZE, ERR_LIMIT, __FILE__, __LINE__, __VA_ARGS__)
#define SYNTAX "Syntax errors in policy."

/* Printable, capped copy of a policy string for messages. */
static const char *echo(struct core_cursor s, char buf[136])
{
    size_t n = s.len > 128 ? 128 : s.len, o = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s.ptr[i];
        buf[o++] = (c < 0x20 || c == 0x7f || c == '"' || c == '\\') ? '?' : (char)c;
    }
    if (s.len > n) {
        buf[o++] = '.';
        buf[o++] = '.';
        buf[o++] = '.';
    }
    buf[o] = '\0';
    return buf;
}

static struct core_cursor jstr(const json_t *v)
{
    return core_cursor_from(json_string_value(v), json_string_length(v));
}

static core_result dup_bytes(struct pstate *ps, struct core_cursor s, struct core_cursor *out)
{
    void *p;
    GUARD(pol_arena_alloc(ps->arena, s.len, &p));
    if (s.len) memcpy(p, s.ptr, s.len);
    *out = core_cursor_from(p, s.len);
    CORE_OK;
}

static core_result alloc_array(struct pstate *ps, size_t n, size_t elem, void **out)
{
    ENSURE(n == 0 || elem <= SIZE_MAX / n, ERR_LIMIT);
    return pol_arena_alloc(ps->arena, n * elem, out);
}

/* A policy value as text: strings as they are, numbers and booleans in
 * their JSON spelling ("Bool": true is "true"). */
static bool value_text(const json_t *v, char tmp[40], struct core_cursor *out)
{
    if (json_is_string(v)) {
        *out = jstr(v);
        return true;
    }
    int n;
    if (json_is_integer(v)) {
        n = snprintf(tmp, 40, "%lld", (long long)json_integer_value(v));
    } else if (json_is_real(v)) {
        n = snprintf(tmp, 40, "%.17g", json_real_value(v));
    } else if (json_is_boolean(v)) {
        n = snprintf(tmp, 40, "%s", json_is_true(v) ? "true" : "false");
    } else {
        return false;
    }
    if (n <= 0 || n >= 40) return false;
    *out = core_cursor_from(tmp, (size_t)n);
    return true;
}

/* ---- patterns ---------------------------------------------------------- */

struct pat_opts {
    bool wild;  /* '*' and '?' are wildcards */
    bool vars;  /* ${...} is a variable (Version 2012-10-17 only) */
    bool icase; /* fold ASCII to lower case (actions, Bool) */
    bool ufold; /* Unicode simple case folding (StringEqualsIgnoreCase) */
};

/* Parses "${key}" or "${key, 'default'}" starting at s[i] == '$'. Returns
 * the length consumed, or 0 when it is not a variable (then literal). */
static size_t parse_var(struct core_cursor s, size_t i, struct core_cursor *key, struct core_cursor *def,
                        bool *has_def)
{
    if (i + 1 >= s.len || s.ptr[i + 1] != '{') return 0;
    size_t j = i + 2;
    while (j < s.len && s.ptr[j] != '}') j++;
    if (j >= s.len) return 0;
    struct core_cursor body = core_cursor_from(s.ptr + i + 2, j - i - 2), k;
    struct core_cursor rest = body;
    core_cursor_split(&rest, ',', &k);
    *key = core_cursor_trim(k);
    *has_def = false;
    if (rest.ptr != NULL) {
        struct core_cursor d = core_cursor_trim(rest);
        if (d.len < 2 || d.ptr[0] != '\'' || d.ptr[d.len - 1] != '\'') return 0;
        *def = core_cursor_from(d.ptr + 1, d.len - 2);
        *has_def = true;
    }
    if (key->len == 0) return 0;
    return j - i + 1;
}

static core_result compile_pattern(struct pstate *ps, struct core_cursor s, struct pat_opts o,
                                   struct pol_pattern *out)
{
    *out = (struct pol_pattern){.icase = o.icase, .ufold = o.ufold};
    uint16_t *units;
    GUARD(alloc_array(ps, o.ufold ? POL_FOLD_MAX(s.len) : s.len, sizeof(uint16_t), (void **)&units));
    /* At most one variable per 3 bytes ("${x}" is 4): pieces <= 2*vars+1. */
    size_t max_pieces = 2 * (s.len / 3) + 1;
    struct pol_piece *pieces = NULL;
    size_t np = 0, n = 0, lit_start = 0;
    bool vars = o.vars && ps->v2012;
    for (size_t i = 0; i < s.len;) {
        uint8_t c = s.ptr[i];
        if (c == '$' && vars) {
            struct core_cursor key = {NULL, 0}, def = {NULL, 0};
            bool has_def;
            size_t used = parse_var(s, i, &key, &def, &has_def);
            if (used) {
                /* ${*}, ${?}, ${$}: the literal character. */
                if (key.len == 1 && !has_def && (key.ptr[0] == '*' || key.ptr[0] == '?' || key.ptr[0] == '$')) {
                    units[n++] = key.ptr[0];
                    i += used;
                    continue;
                }
                if (pieces == NULL) GUARD(alloc_array(ps, max_pieces, sizeof *pieces, (void **)&pieces));
                if (n > lit_start)
                    pieces[np++] = (struct pol_piece){.kind = PIECE_LIT, .units = units + lit_start,
                                                      .n = n - lit_start};
                struct pol_piece *pc = &pieces[np++];
                *pc = (struct pol_piece){.kind = PIECE_VAR, .has_def = has_def};
                GUARD(dup_bytes(ps, key, &pc->key));
                pc->hash = pol_hash_icase(key);
                if (has_def) GUARD(dup_bytes(ps, def, &pc->def));
                lit_start = n;
                i += used;
                out->has_vars = true;
                continue;
            }
        }
        if (o.wild && c == '*') {
            units[n++] = PU_STAR;
            out->has_wild = true;
        } else if (o.wild && c == '?') {
            units[n++] = PU_QMARK;
            out->has_wild = true;
        } else if (o.ufold) {
            /* One character, folded, as its UTF-8 bytes. */
            size_t len = pol_utf8_next(s.ptr + i, s.len - i);
            uint8_t tmp[16];
            size_t m = pol_fold_utf8(core_cursor_from(s.ptr + i, len), tmp);
            for (size_t k = 0; k < m; k++) units[n++] = tmp[k];
            i += len;
            continue;
        } else {
            units[n++] = o.icase ? pol_lower(c) : c;
        }
        i++;
    }
    if (out->has_vars) {
        if (n > lit_start)
            pieces[np++] = (struct pol_piece){.kind = PIECE_LIT, .units = units + lit_start, .n = n - lit_start};
        out->pieces = pieces;
        out->npieces = np;
    }
    out->units = units;
    out->n = n;
    out->any = !out->has_vars && n == 1 && units[0] == PU_STAR;
    CORE_OK;
}

/* ---- small JSON helpers ----------------------------------------------- */

/* A string or a non-empty array of strings; *n receives the count. */
static core_result string_list(struct pstate *ps, const json_t *v, const char *field, size_t *n)
{
    if (json_is_string(v)) {
        *n = 1;
        CORE_OK;
    }
    if (!json_is_array(v)) PFAIL(ps, POLICY_PROBLEM_SYNTAX, SYNTAX " %s must be a string or an array of strings", field);
    *n = json_array_size(v);
    if (*n > POLICY_MAX_ELEMENT_VALUES) PLIMIT(ps, "%s has more than %u values", field, POLICY_MAX_ELEMENT_VALUES);
    for (size_t i = 0; i < *n; i++)
        if (!json_is_string(json_array_get(v, i)))
            PFAIL(ps, POLICY_PROBLEM_SYNTAX, SYNTAX " %s must be a string or an array of strings", field);
    CORE_OK;
}

static const json_t *list_item(const json_t *v, size_t i) { return json_is_array(v) ? json_array_get(v, i) : v; }

/* ---- Action ------------------------------------------------------------- */

static core_result compile_actions(struct pstate *ps, const json_t *v, struct pol_stmt *st)
{
    size_t n;
    GUARD(string_list(ps, v, st->not_action ? "NotAction" : "Action", &n));
    if (n == 0) PFAIL(ps, POLICY_PROBLEM_ACTION, "Policy statement must contain actions.");
    struct pol_pattern *acts;
    GUARD(alloc_array(ps, n, sizeof *acts, (void **)&acts));
    char eb[136];
    for (size_t i = 0; i < n; i++) {
        struct core_cursor a = jstr(list_item(v, i));
        if (!(a.len == 1 && a.ptr[0] == '*')) {
            /* "service:action": the prefix has no wildcard ("Vendor ... is
             * not valid"); the action part may use * and ?. */
            struct core_cursor rest = a, svc;
            core_cursor_split(&rest, ':', &svc);
            bool ok = rest.ptr != NULL && svc.len > 0 && rest.len > 0;
            for (size_t k = 0; ok && k < svc.len; k++) {
                uint8_t c = pol_lower(svc.ptr[k]);
                ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
            }
            if (!ok) {
                if (rest.ptr == NULL || svc.len == 0)
                    PFAIL(ps, POLICY_PROBLEM_ACTION, "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.");
                PFAIL(ps, POLICY_PROBLEM_ACTION, "Vendor %s is not valid", echo(svc, eb));
            }
        }
        GUARD(compile_pattern(ps, a, (struct pat_opts){.wild = true, .icase = true}, &acts[i]));
        if (acts[i].any) st->action_any = true;
    }
    st->actions = acts;
    st->nactions = n;
    CORE_OK;
}

/* ---- Resource ----------------------------------------------------------- */

static core_result compile_resources(struct pstate *ps, const json_t *v, struct pol_stmt *st)
{
    size_t n;
    GUARD(string_list(ps, v, st->not_resource ? "NotResource" : "Resource", &n));
    if (n == 0) PFAIL(ps, POLICY_PROBLEM_RESOURCE, "Policy statement must contain resources.");
    struct pol_pattern *res;
    GUARD(alloc_array(ps, n, sizeof *res, (void **)&res));
    char eb[136];
    for (size_t i = 0; i < n; i++) {
        struct core_cursor r = jstr(list_item(v, i));
        bool star = r.len == 1 && r.ptr[0] == '*';
        if (!star && !core_cursor_starts_with(r, "arn:") && !(ps->v2012 && core_cursor_starts_with(r, "${")))
            PFAIL(ps, POLICY_PROBLEM_RESOURCE, "Resource %s must be in ARN format or \"*\".", echo(r, eb));
        GUARD(compile_pattern(ps, r, (struct pat_opts){.wild = true, .vars = true}, &res[i]));
        if (res[i].any) st->resource_any = true;
    }
    st->resources = res;
    st->nresources = n;
    st->has_resource = true;
    CORE_OK;
}

/* ---- Principal ---------------------------------------------------------- */

static bool all_digits(struct core_cursor s, size_t len)
{
    if (s.len != len) return false;
    for (size_t i = 0; i < s.len; i++)
        if (s.ptr[i] < '0' || s.ptr[i] > '9') return false;
    return true;
}

char policy_unique_id_kind(struct core_cursor s)
{
    if (s.len != 21) return 0;
    char kind = core_cursor_starts_with(s, "AIDA") ? 'U' : core_cursor_starts_with(s, "AROA") ? 'R' : 0;
    for (size_t i = 4; kind && i < s.len; i++)
        if (!((s.ptr[i] >= 'A' && s.ptr[i] <= 'Z') || (s.ptr[i] >= '0' && s.ptr[i] <= '9'))) kind = 0;
    return kind;
}

static bool has_wildcard(struct core_cursor s)
{
    for (size_t i = 0; i < s.len; i++)
        if (s.ptr[i] == '*' || s.ptr[i] == '?') return true;
    return false;
}

/* Classifies an "AWS" principal value; false when invalid. */
static bool classify_aws(struct core_cursor s, struct pol_principal *e)
{
    if (s.len == 1 && s.ptr[0] == '*') {
        e->kind = PRIN_ANY;
        return true;
    }
    if (all_digits(s, CORE_ACCOUNT_ID_LEN)) {
        e->kind = PRIN_ACCOUNT;
        e->value = s;
        return true;
    }
    /* A unique principal id: how IAM stores a user or role ARN in a resource
     * or trust policy ("When you save the policy, AWS transforms the ARN to a
     * unique principal ID", IAM User Guide, role trust policy examples). */
    if (policy_unique_id_kind(s) != 0) {
        e->kind = policy_unique_id_kind(s) == 'U' ? PRIN_USER_ID : PRIN_ROLE_ID;
        e->value = s;
        return true;
    }
    if (!core_cursor_starts_with(s, "arn:") || has_wildcard(s)) return false;
    struct core_cursor c = s, f[6];
    for (size_t i = 0; i < 5; i++)
        if (!core_cursor_split(&c, ':', &f[i]) || c.ptr == NULL) return false;
    f[5] = c;
    if (f[1].len == 0 || f[3].len != 0 || !all_digits(f[4], CORE_ACCOUNT_ID_LEN)) return false;
    struct core_cursor res = f[5];
    e->account = f[4];
    if (core_cursor_eq_str(f[2], "iam")) {
        if (core_cursor_eq_str(res, "root")) {
            e->kind = PRIN_ACCOUNT;
            e->value = f[4];
            return true;
        }
        if (core_cursor_starts_with(res, "user/") && res.len > 5 && res.ptr[res.len - 1] != '/') {
            e->kind = PRIN_USER;
            e->value = s;
            return true;
        }
        if (core_cursor_starts_with(res, "role/") && res.len > 5 && res.ptr[res.len - 1] != '/') {
            size_t k = res.len;
            while (k > 0 && res.ptr[k - 1] != '/') k--;
            e->kind = PRIN_ROLE;
            e->value = core_cursor_from(res.ptr + k, res.len - k);
            return true;
        }
        return false;
    }
    if (core_cursor_eq_str(f[2], "sts")) {
        if (core_cursor_starts_with(res, "assumed-role/")) {
            struct core_cursor rest = core_cursor_from(res.ptr + 13, res.len - 13), role;
            if (!core_cursor_split(&rest, '/', &role) || role.len == 0 || rest.ptr == NULL || rest.len == 0)
                return false;
            e->kind = PRIN_SESSION;
            e->value = s;
            return true;
        }
        if (core_cursor_starts_with(res, "federated-user/") && res.len > 15) {
            e->kind = PRIN_SESSION;
            e->value = s;
            return true;
        }
    }
    return false;
}

static core_result compile_principal(struct pstate *ps, const json_t *v, struct pol_stmt *st)
{
    char eb[136];
    st->has_principal = true;
    if (json_is_string(v)) {
        if (!core_cursor_eq_str(jstr(v), "*"))
            PFAIL(ps, POLICY_PROBLEM_PRINCIPAL, "Invalid principal in policy: \"%s\"", echo(jstr(v), eb));
        st->principal_any = true;
        CORE_OK;
    }
    if (!json_is_object(v) || json_object_size(v) == 0)
        PFAIL(ps, POLICY_PROBLEM_PRINCIPAL, SYNTAX " Principal must be \"*\" or an object");
    size_t total = 0;
    const char *type;
    const json_t *vals;
    json_object_foreach((json_t *)(uintptr_t)v, type, vals)
    {
        size_t n;
        GUARD(string_list(ps, vals, "Principal", &n));
        if (n == 0) PFAIL(ps, POLICY_PROBLEM_PRINCIPAL, "Invalid principal in policy: \"%s\":[]", type);
        total += n;
    }
    if (total > POLICY_MAX_ELEMENT_VALUES) PLIMIT(ps, "Principal has more than %u values", POLICY_MAX_ELEMENT_VALUES);
    struct pol_principal *ents;
    GUARD(alloc_array(ps, total, sizeof *ents, (void **)&ents));
    size_t k = 0;
    json_object_foreach((json_t *)(uintptr_t)v, type, vals)
    {
        size_t n = json_is_array(vals) ? json_array_size(vals) : 1;
        for (size_t i = 0; i < n; i++) {
            struct core_cursor s = jstr(list_item(vals, i));
            struct pol_principal e = {0};
            bool ok;
            if (strcmp(type, "AWS") == 0) {
                ok = classify_aws(s, &e);
            } else if (strcmp(type, "Service") == 0 || strcmp(type, "Federated") == 0) {
                /* No wildcards: "*" is only valid as the whole Principal or
                 * as "AWS":"*". */
                ok = s.len > 0 && !has_wildcard(s);
                e.kind = type[0] == 'S' ? PRIN_SERVICE : PRIN_FEDERATED;
                e.value = s;
            } else {
                /* CanonicalUser is S3's; nothing here can be one. */
                ok = false;
            }
            if (!ok) PFAIL(ps, POLICY_PROBLEM_PRINCIPAL, "Invalid principal in policy: \"%s\":\"%s\"", type, echo(s, eb));
            if (e.kind == PRIN_ANY) st->principal_any = true;
            /* Re-point value/account into the arena (they borrow JSON). */
            struct core_cursor acct = e.account;
            GUARD(dup_bytes(ps, e.value, &e.value));
            GUARD(dup_bytes(ps, acct, &e.account));
            ents[k++] = e;
        }
    }
    st->principals = ents;
    st->nprincipals = k;
    CORE_OK;
}

/* ---- Condition ---------------------------------------------------------- */

struct op_row {
    const char *name;
    enum pol_op op;
    bool negated;
};

static const struct op_row op_table[] = {
    {"StringEquals", OP_STRING_EQUALS, false},
    {"StringNotEquals", OP_STRING_EQUALS, true},
    {"StringEqualsIgnoreCase", OP_STRING_EQUALS_IC, false},
    {"StringNotEqualsIgnoreCase", OP_STRING_EQUALS_IC, true},
    {"StringLike", OP_STRING_LIKE, false},
    {"StringNotLike", OP_STRING_LIKE, true},
    {"NumericEquals", OP_NUMERIC_EQ, false},
    {"NumericNotEquals", OP_NUMERIC_EQ, true},
    {"NumericLessThan", OP_NUMERIC_LT, false},
    {"NumericLessThanEquals", OP_NUMERIC_LE, false},
    {"NumericGreaterThan", OP_NUMERIC_GT, false},
    {"NumericGreaterThanEquals", OP_NUMERIC_GE, false},
    {"DateEquals", OP_DATE_EQ, false},
    {"DateNotEquals", OP_DATE_EQ, true},
    {"DateLessThan", OP_DATE_LT, false},
    {"DateLessThanEquals", OP_DATE_LE, false},
    {"DateGreaterThan", OP_DATE_GT, false},
    {"DateGreaterThanEquals", OP_DATE_GE, false},
    {"Bool", OP_BOOL, false},
    {"BinaryEquals", OP_BINARY_EQUALS, false},
    {"IpAddress", OP_IP_ADDRESS, false},
    {"NotIpAddress", OP_IP_ADDRESS, true},
    {"ArnEquals", OP_ARN_LIKE, false},
    {"ArnLike", OP_ARN_LIKE, false},
    {"ArnNotEquals", OP_ARN_LIKE, true},
    {"ArnNotLike", OP_ARN_LIKE, true},
    {"Null", OP_NULL, false},
};

/* "[ForAllValues:|ForAnyValue:]Operator[IfExists]", case-insensitive. */
static bool parse_operator(struct core_cursor name, struct pol_cond *c)
{
    c->set = SET_NONE;
    if (name.len >= 13 && core_cursor_eq_icase(core_cursor_from(name.ptr, 13), core_cursor_str("ForAllValues:"))) {
        c->set = SET_FOR_ALL;
        name.ptr += 13;
        name.len -= 13;
    } else if (name.len >= 12 &&
               core_cursor_eq_icase(core_cursor_from(name.ptr, 12), core_cursor_str("ForAnyValue:"))) {
        c->set = SET_FOR_ANY;
        name.ptr += 12;
        name.len -= 12;
    }
    c->if_exists = false;
    if (name.len > 8 &&
        core_cursor_eq_icase(core_cursor_from(name.ptr + name.len - 8, 8), core_cursor_str("IfExists"))) {
        c->if_exists = true;
        name.len -= 8;
    }
    for (size_t i = 0; i < sizeof op_table / sizeof op_table[0]; i++) {
        if (core_cursor_eq_icase(name, core_cursor_str(op_table[i].name))) {
            c->op = op_table[i].op;
            c->negated = op_table[i].negated;
            /* "You can add IfExists to the end of any condition operator
             * name except the Null condition." */
            return !(c->op == OP_NULL && (c->if_exists || c->set != SET_NONE));
        }
    }
    return false;
}

static core_result compile_value(struct pstate *ps, struct pol_cond *c, const char *opname, const json_t *jv,
                                 struct pol_value *out)
{
    char tmp[40], eb[136], kb[136];
    struct core_cursor s;
    *out = (struct pol_value){0};
    if (!value_text(jv, tmp, &s))
        PFAIL(ps, POLICY_PROBLEM_CONDITION, SYNTAX " Condition values must be strings, numbers or booleans");
#define BADVAL() \
    PFAIL(ps, POLICY_PROBLEM_CONDITION, "Invalid value for %s condition key %s: \"%s\"", opname, echo(c->key, kb), echo(s, eb))
    switch (c->op) {
    case OP_STRING_EQUALS:
        return compile_pattern(ps, s, (struct pat_opts){.vars = true}, &out->pat);
    case OP_STRING_EQUALS_IC:
        return compile_pattern(ps, s, (struct pat_opts){.vars = true, .ufold = true}, &out->pat);
    case OP_STRING_LIKE:
        return compile_pattern(ps, s, (struct pat_opts){.wild = true, .vars = true}, &out->pat);
    case OP_ARN_LIKE:
        return compile_pattern(ps, s, (struct pat_opts){.wild = true, .vars = true}, &out->pat);
    case OP_BOOL:
        if (!core_cursor_eq_icase(s, core_cursor_str("true")) && !core_cursor_eq_icase(s, core_cursor_str("false")))
            BADVAL();
        return compile_pattern(ps, s, (struct pat_opts){.icase = true}, &out->pat);
    case OP_NUMERIC_EQ:
    case OP_NUMERIC_LT:
    case OP_NUMERIC_LE:
    case OP_NUMERIC_GT:
    case OP_NUMERIC_GE:
        if (json_is_boolean(jv) || !pol_parse_number(s, &out->u.num)) BADVAL();
        CORE_OK;
    case OP_DATE_EQ:
    case OP_DATE_LT:
    case OP_DATE_LE:
    case OP_DATE_GT:
    case OP_DATE_GE:
        if (json_is_boolean(jv) || !pol_parse_date(s, &out->u.ms)) BADVAL();
        CORE_OK;
    case OP_BINARY_EQUALS: {
        if (!json_is_string(jv) || s.len == 0) BADVAL();
        uint8_t *buf;
        size_t cap = s.len / 4 * 3 + 3, n;
        GUARD(pol_arena_alloc(ps->arena, cap, (void **)&buf));
        if (!pol_base64_decode(s, buf, cap, &n)) BADVAL();
        out->u.bin = core_cursor_from(buf, n);
        CORE_OK;
    }
    case OP_IP_ADDRESS:
        if (!json_is_string(jv) || memchr(s.ptr, '\0', s.len) != NULL || !pol_parse_ip(s, true, &out->u.ip))
            BADVAL();
        CORE_OK;
    case OP_NULL:
        if (core_cursor_eq_icase(s, core_cursor_str("true"))) {
            out->u.null_is_true = true;
        } else if (core_cursor_eq_icase(s, core_cursor_str("false"))) {
            out->u.null_is_true = false;
        } else {
            BADVAL();
        }
        CORE_OK;
    }
#undef BADVAL
    CORE_OK;
}

static core_result compile_conditions(struct pstate *ps, const json_t *v, struct pol_stmt *st)
{
    char eb[136];
    if (!json_is_object(v)) PFAIL(ps, POLICY_PROBLEM_CONDITION, SYNTAX " Condition must be an object");
    size_t total = 0;
    const char *opname;
    const json_t *block;
    json_object_foreach((json_t *)(uintptr_t)v, opname, block)
    {
        if (!json_is_object(block))
            PFAIL(ps, POLICY_PROBLEM_CONDITION, SYNTAX " Condition %s must map keys to values", echo(core_cursor_str(opname), eb));
        total += json_object_size(block);
    }
    if (total > POLICY_MAX_CONDITION_VALUES) PLIMIT(ps, "Condition has more than %u keys", POLICY_MAX_CONDITION_VALUES);
    struct pol_cond *conds;
    GUARD(alloc_array(ps, total, sizeof *conds, (void **)&conds));
    size_t k = 0;
    json_object_foreach((json_t *)(uintptr_t)v, opname, block)
    {
        struct pol_cond proto = {0};
        if (!parse_operator(core_cursor_str(opname), &proto))
            PFAIL(ps, POLICY_PROBLEM_CONDITION, "Invalid Condition type : %s", echo(core_cursor_str(opname), eb));
        const char *key;
        const json_t *vals;
        json_object_foreach((json_t *)(uintptr_t)block, key, vals)
        {
            struct pol_cond *c = &conds[k++];
            *c = proto;
            struct core_cursor kc = core_cursor_str(key);
            struct core_cursor rest = kc, vendor;
            core_cursor_split(&rest, ':', &vendor);
            if (rest.ptr == NULL || vendor.len == 0 || rest.len == 0)
                PFAIL(ps, POLICY_PROBLEM_CONDITION, "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.");
            GUARD(dup_bytes(ps, kc, &c->key));
            c->hash = pol_hash_icase(kc);
            size_t n = json_is_array(vals) ? json_array_size(vals) : 1;
            if (json_is_object(vals) || json_is_null(vals))
                PFAIL(ps, POLICY_PROBLEM_CONDITION, SYNTAX " Condition values must be strings, numbers or booleans");
            if (n == 0)
                PFAIL(ps, POLICY_PROBLEM_CONDITION, "Condition %s for key %s has no values", echo(core_cursor_str(opname), eb), key);
            ps->cond_values += n;
            if (ps->cond_values > POLICY_MAX_CONDITION_VALUES)
                PLIMIT(ps, "Policy has more than %u condition values", POLICY_MAX_CONDITION_VALUES);
            struct pol_value *pv;
            GUARD(alloc_array(ps, n, sizeof *pv, (void **)&pv));
            for (size_t i = 0; i < n; i++) GUARD(compile_value(ps, c, opname, list_item(vals, i), &pv[i]));
            c->vals = pv;
            c->nvals = n;
        }
    }
    st->conds = conds;
    st->nconds = k;
    CORE_OK;
}

/* ---- Statement ---------------------------------------------------------- */

static bool sid_alnum(struct core_cursor s)
{
    for (size_t i = 0; i < s.len; i++) {
        uint8_t c = s.ptr[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) return false;
    }
    return true;
}

static core_result compile_statement(struct pstate *ps, const json_t *js, struct pol_stmt *st)
{
    char eb[136];
    if (!json_is_object(js)) PFAIL(ps, POLICY_PROBLEM_SYNTAX, SYNTAX " Statement must be an object");
    const json_t *effect = NULL, *action = NULL, *notaction = NULL, *resource = NULL, *notresource = NULL,
                 *principal = NULL, *notprincipal = NULL, *condition = NULL, *sid = NULL;
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)(uintptr_t)js, key, val)
    {
        if (strcmp(key, "Sid") == 0) sid = val;
        else if (strcmp(key, "Effect") == 0) effect = val;
        else if (strcmp(key, "Action") == 0) action = val;
        else if (strcmp(key, "NotAction") == 0) notaction = val;
        else if (strcmp(key, "Resource") == 0) resource = val;
        else if (strcmp(key, "NotResource") == 0) notresource = val;
        else if (strcmp(key, "Principal") == 0) principal = val;
        else if (strcmp(key, "NotPrincipal") == 0) notprincipal = val;
        else if (strcmp(key, "Condition") == 0) condition = val;
        else PFAIL(ps, POLICY_PROBLEM_SYNTAX, SYNTAX " Unknown field %s", echo(core_cursor_str(key), eb));
    }
    if (sid != NULL) {
        if (!json_is_string(sid)) PFAIL(ps, POLICY_PROBLEM_STATEMENT, SYNTAX " Sid must be a string");
        if (ps->kind == POLICY_KIND_IDENTITY && !sid_alnum(jstr(sid)))
            PFAIL(ps, POLICY_PROBLEM_STATEMENT,
                  "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*");
        GUARD(dup_bytes(ps, jstr(sid), &st->sid));
    }
    if (effect == NULL) PFAIL(ps, POLICY_PROBLEM_STATEMENT, "Missing required field Effect");
    if (!json_is_string(effect)) PFAIL(ps, POLICY_PROBLEM_STATEMENT, SYNTAX " Effect must be a string");
    if (core_cursor_eq_str(jstr(effect), "Allow")) {
        st->deny = false;
    } else if (core_cursor_eq_str(jstr(effect), "Deny")) {
        st->deny = true;
    } else {
        PFAIL(ps, POLICY_PROBLEM_STATEMENT, "Invalid effect: %s", echo(jstr(effect), eb));
    }

    /* Principal */
    if (principal && notprincipal)
        PFAIL(ps, POLICY_PROBLEM_PRINCIPAL, SYNTAX " Statement has both Principal and NotPrincipal");
    if (ps->kind == POLICY_KIND_IDENTITY) {
        if (principal || notprincipal) PFAIL(ps, POLICY_PROBLEM_PRINCIPAL, "Policy document should not specify a principal.");
    } else {
        if (!principal && !notprincipal) PFAIL(ps, POLICY_PROBLEM_PRINCIPAL, "Missing required field Principal");
        /* "You cannot use the NotPrincipal element in an IAM identity-based
         * policy nor in an IAM role trust policy." and "NotPrincipal must be
         * used with "Effect":"Deny". Using it with "Effect":"Allow" is not
         * supported." -- IAM User Guide, "AWS JSON policy elements:
         * NotPrincipal". The trust-policy wording is IAM's grammar error for
         * a field a policy type prohibits ("Has prohibited field Resource");
         * KMS puts its invalid-principal message in front of the reason. */
        if (notprincipal && ps->kind == POLICY_KIND_TRUST)
            PFAIL(ps, POLICY_PROBLEM_PRINCIPAL, "Has prohibited field NotPrincipal");
        if (notprincipal && !st->deny)
            PFAIL(ps, POLICY_PROBLEM_PRINCIPAL, "NotPrincipal must be used with \"Effect\":\"Deny\".");
        st->not_principal = notprincipal != NULL;
        GUARD(compile_principal(ps, principal ? principal : notprincipal, st));
    }

    /* Action */
    if (action && notaction) PFAIL(ps, POLICY_PROBLEM_ACTION, SYNTAX " Statement has both Action and NotAction");
    if (!action && !notaction) PFAIL(ps, POLICY_PROBLEM_ACTION, "Policy statement must contain actions.");
    st->not_action = notaction != NULL;
    GUARD(compile_actions(ps, action ? action : notaction, st));

    /* Resource */
    if (resource && notresource) PFAIL(ps, POLICY_PROBLEM_RESOURCE, SYNTAX " Statement has both Resource and NotResource");
    if (ps->kind == POLICY_KIND_TRUST) {
        if (resource) PFAIL(ps, POLICY_PROBLEM_RESOURCE, "Has prohibited field Resource");
        if (notresource) PFAIL(ps, POLICY_PROBLEM_RESOURCE, "Has prohibited field NotResource");
    } else {
        if (!resource && !notresource) PFAIL(ps, POLICY_PROBLEM_RESOURCE, "Policy statement must contain resources.");
        st->not_resource = notresource != NULL;
        GUARD(compile_resources(ps, resource ? resource : notresource, st));
    }

    if (condition) GUARD(compile_conditions(ps, condition, st));
    CORE_OK;
}

/* ---- Document ------------------------------------------------------------ */

static core_result check_size(struct pstate *ps, const struct policy_parse_opts *o, struct core_cursor text)
{
    size_t max = o->max_bytes ? o->max_bytes : POLICY_KMS_KEY_POLICY_MAX_BYTES;
    if (text.len > POLICY_MAX_RAW_BYTES) PLIMIT(ps, "Cannot exceed quota for PolicySize: %zu", max);
    size_t counted = text.len;
    if (o->ignore_whitespace) {
        counted = 0;
        bool in_str = false, esc = false;
        for (size_t i = 0; i < text.len; i++) {
            uint8_t c = text.ptr[i];
            if (in_str) {
                counted++;
                if (esc) esc = false;
                else if (c == '\\') esc = true;
                else if (c == '"') in_str = false;
                continue;
            }
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
            counted++;
            if (c == '"') in_str = true;
        }
    }
    if (counted > max) PLIMIT(ps, "Cannot exceed quota for PolicySize: %zu", max);
    CORE_OK;
}

static core_result compile_document(struct pstate *ps, const json_t *root, struct policy *p)
{
    char eb[136];
    if (!json_is_object(root)) PFAIL(ps, POLICY_PROBLEM_SYNTAX, SYNTAX);
    const json_t *version = NULL, *id = NULL, *stmts = NULL;
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)(uintptr_t)root, key, val)
    {
        if (strcmp(key, "Version") == 0) version = val;
        else if (strcmp(key, "Id") == 0) id = val;
        else if (strcmp(key, "Statement") == 0) stmts = val;
        else PFAIL(ps, POLICY_PROBLEM_SYNTAX, SYNTAX " Unknown field %s", echo(core_cursor_str(key), eb));
    }
    /* "If you do not include a Version element, the value defaults to
     * 2008-10-17": policy variables are then plain text. */
    ps->v2012 = false;
    if (version != NULL) {
        if (!json_is_string(version)) PFAIL(ps, POLICY_PROBLEM_VERSION, "The policy failed legacy parsing");
        if (core_cursor_eq_str(jstr(version), "2012-10-17")) {
            ps->v2012 = true;
        } else if (!core_cursor_eq_str(jstr(version), "2008-10-17")) {
            PFAIL(ps, POLICY_PROBLEM_VERSION, "The policy failed legacy parsing");
        }
    }
    p->v2012 = ps->v2012;
    if (id != NULL) {
        if (!json_is_string(id)) PFAIL(ps, POLICY_PROBLEM_SYNTAX, SYNTAX " Id must be a string");
        GUARD(dup_bytes(ps, jstr(id), &p->id));
    }
    if (stmts == NULL) PFAIL(ps, POLICY_PROBLEM_STATEMENT, "Missing required field Statement");
    size_t n = json_is_array(stmts) ? json_array_size(stmts) : 1;
    if (!json_is_array(stmts) && !json_is_object(stmts))
        PFAIL(ps, POLICY_PROBLEM_SYNTAX, SYNTAX " Statement must be an object or an array");
    if (n == 0) PFAIL(ps, POLICY_PROBLEM_STATEMENT, SYNTAX " Statement must not be empty");
    if (n > POLICY_MAX_STATEMENTS) PLIMIT(ps, "Policy has more than %u statements", POLICY_MAX_STATEMENTS);
    struct pol_stmt *st;
    GUARD(alloc_array(ps, n, sizeof *st, (void **)&st));
    for (size_t i = 0; i < n; i++) {
        GUARD(compile_statement(ps, list_item(stmts, i), &st[i]));
        /* IAM requires unique Sids; KMS key policies do not. */
        if (ps->kind != POLICY_KIND_RESOURCE && st[i].sid.len > 0) {
            for (size_t j = 0; j < i; j++)
                if (core_cursor_eq(st[j].sid, st[i].sid))
                    PFAIL(ps, POLICY_PROBLEM_STATEMENT, "Statement IDs (SID) in a single policy must be unique.");
        }
    }
    p->stmts = st;
    p->nstmts = n;
    /* Every read of the request context by evaluation goes through a
     * condition (its key, and variables in its values) or a variable in an
     * Action/Resource pattern; principals match the context's identity
     * chain, which is not a condition key. */
    p->reads_context = false;
    for (size_t i = 0; i < n; i++) {
        p->reads_context |= st[i].nconds > 0;
        for (size_t j = 0; j < st[i].nactions; j++) p->reads_context |= st[i].actions[j].has_vars;
        for (size_t j = 0; j < st[i].nresources; j++) p->reads_context |= st[i].resources[j].has_vars;
    }
    CORE_OK;
}

core_result policy_parse(const struct policy_parse_opts *opts, struct core_cursor text, struct policy **out,
                         struct core_buf *reason, enum policy_problem *problem)
{
    ENSURE_REF(out);
    *out = NULL;
    ENSURE_REF(opts);
    if (problem) *problem = POLICY_PROBLEM_NONE;
    struct pol_arena arena;
    pol_arena_init(&arena);
    struct pstate ps = {.arena = &arena, .reason = reason, .problem = problem, .kind = opts->kind};

    GUARD(check_size(&ps, opts, text));
    json_t *root = NULL;
    core_result r = core_json_parse(text, POLICY_MAX_JSON_DEPTH, &root);
    if (!core_ok(r)) {
        /* Bad JSON, a duplicate key or absurd nesting: all malformed. */
        PFAIL(&ps, POLICY_PROBLEM_SYNTAX, SYNTAX);
    }
    struct policy *p = NULL;
    r = pol_arena_alloc(&arena, sizeof *p, (void **)&p);
    if (core_ok(r)) {
        p->kind = opts->kind;
        r = compile_document(&ps, root, p);
    }
    json_decref(root);
    if (!core_ok(r)) {
        if (r.err == ERR_NOMEM && problem) *problem = POLICY_PROBLEM_NONE;
        pol_arena_release(&arena);
        return r;
    }
    p->arena = arena;
    *out = p;
    CORE_OK;
}

void policy_free(struct policy *p)
{
    if (p == NULL) return;
    struct pol_arena a = p->arena;
    pol_arena_release(&a);
}

void policy_cleanup(struct policy **p)
{
    policy_free(*p);
    *p = NULL;
}

size_t policy_statement_count(const struct policy *p) { return p ? p->nstmts : 0; }

struct core_cursor policy_statement_sid(const struct policy *p, size_t i)
{
    if (p == NULL || i >= p->nstmts) return (struct core_cursor){NULL, 0};
    return p->stmts[i].sid;
}

bool policy_version_2012(const struct policy *p) { return p && p->v2012; }

size_t policy_compiled_bytes(const struct policy *p) { return p ? p->arena.total : 0; }
