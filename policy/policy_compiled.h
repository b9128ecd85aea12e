#ifndef POLICY_POLICY_COMPILED_H
#define POLICY_POLICY_COMPILED_H

/*
 * The compiled form of a policy document. Internal to policy/ and its
 * tests. Everything a struct policy points to lives in its arena, so one
 * policy_free() releases it all and the statements of a document sit close
 * together in memory.
 */

#include "policy/policy.h"

/* ---- arena ------------------------------------------------------------ */

/*
 * A chain of core_buf chunks (core/ owns the allocator). Each chunk starts
 * with the core_buf describing the next one, so the chain needs no side
 * table. Allocations never move: chunks are never reallocated.
 */
struct pol_arena {
    struct core_buf head;  /* first chunk */
    struct core_buf *cur;  /* chunk being filled */
    size_t off;            /* bytes used in *cur */
    size_t total;          /* bytes of all chunks */
};

void pol_arena_init(struct pol_arena *a);
/** Zeroed, max_align_t-aligned memory. Errors: ERR_NOMEM, ERR_LIMIT. */
CORE_RESULT pol_arena_alloc(struct pol_arena *a, size_t n, void **out);
/** Frees every chunk; a may live inside one of them (it is copied first). */
void pol_arena_release(struct pol_arena *a);

/* ---- patterns ---------------------------------------------------------- */

/*
 * A pattern is an array of units: a byte 0..255 is a literal, PU_STAR and
 * PU_QMARK are the wildcards. "${*}" compiles to the literal '*', so it
 * never acts as a wildcard.
 */
#define PU_STAR 0x100u
#define PU_QMARK 0x101u

enum pol_piece_kind { PIECE_LIT, PIECE_VAR };

struct pol_piece {
    enum pol_piece_kind kind;
    const uint16_t *units; /* PIECE_LIT */
    size_t n;
    struct core_cursor key; /* PIECE_VAR: context key, as written */
    uint32_t hash;
    struct core_cursor def; /* default value, literal */
    bool has_def;
};

struct pol_pattern {
    const uint16_t *units; /* whole pattern when !has_vars */
    size_t n;
    const struct pol_piece *pieces; /* when has_vars */
    size_t npieces;
    bool has_vars;
    bool has_wild;  /* contains PU_STAR/PU_QMARK */
    bool any;       /* exactly "*" */
    bool icase;     /* units are ASCII lower-cased; fold the subject too (actions, Bool) */
    bool ufold;     /* units are Unicode-folded UTF-8; fold the subject too (IgnoreCase) */
};

/* ---- principals ------------------------------------------------------ */

enum pol_prin_kind {
    PRIN_ANY,
    PRIN_ACCOUNT,   /* value = 12-digit account */
    PRIN_USER,      /* value = user ARN */
    PRIN_ROLE,      /* value = role name, account = account */
    PRIN_SESSION,   /* value = assumed-role / federated-user ARN */
    PRIN_SERVICE,
    PRIN_FEDERATED,
    PRIN_USER_ID,   /* value = an IAM user's unique id, "AIDA..." (how a user ARN is stored) */
    PRIN_ROLE_ID,   /* value = an IAM role's unique id, "AROA..." */
};

struct pol_principal {
    enum pol_prin_kind kind;
    struct core_cursor value;
    struct core_cursor account;
};

/* ---- conditions ------------------------------------------------------ */

enum pol_op {
    OP_STRING_EQUALS,
    OP_STRING_EQUALS_IC,
    OP_STRING_LIKE,
    OP_NUMERIC_EQ,
    OP_NUMERIC_LT,
    OP_NUMERIC_LE,
    OP_NUMERIC_GT,
    OP_NUMERIC_GE,
    OP_DATE_EQ,
    OP_DATE_LT,
    OP_DATE_LE,
    OP_DATE_GT,
    OP_DATE_GE,
    OP_BOOL,
    OP_BINARY_EQUALS,
    OP_IP_ADDRESS,
    OP_ARN_LIKE, /* ArnEquals and ArnLike match the same way */
    OP_NULL,
};

enum pol_set { SET_NONE, SET_FOR_ALL, SET_FOR_ANY };

struct pol_ip {
    uint8_t family; /* 4 or 6 */
    uint8_t prefix;
    uint8_t addr[16];
};

struct pol_value {
    struct pol_pattern pat; /* string, ARN, Bool */
    union {
        double num;
        int64_t ms; /* dates, milliseconds since the epoch */
        struct pol_ip ip;
        struct core_cursor bin; /* decoded BinaryEquals bytes */
        bool null_is_true;
    } u;
};

struct pol_cond {
    enum pol_op op;
    enum pol_set set;
    bool negated;
    bool if_exists;
    struct core_cursor key; /* as written; matched case-insensitively */
    uint32_t hash;
    const struct pol_value *vals;
    size_t nvals;
};

/* ---- statements ------------------------------------------------------ */

struct pol_stmt {
    struct core_cursor sid;
    bool deny;
    bool not_action, not_resource, not_principal;
    bool has_principal, has_resource;
    bool action_any, resource_any, principal_any;
    const struct pol_pattern *actions;
    size_t nactions;
    const struct pol_pattern *resources;
    size_t nresources;
    const struct pol_principal *principals;
    size_t nprincipals;
    const struct pol_cond *conds;
    size_t nconds;
};

struct policy {
    struct pol_arena arena;
    enum policy_kind kind;
    bool v2012;
    struct core_cursor id;
    const struct pol_stmt *stmts;
    size_t nstmts;
    /* Whether evaluation can read a context key: a condition, or a policy
     * variable in an Action or Resource pattern (policy_reads_context). */
    bool reads_context;
};

/* ---- characters (policy_unicode.c) ------------------------------------ */

/** Decodes one well-formed UTF-8 character at s (n > 0 bytes); false, with
 * *len 1 and *cp the byte, when s does not start a well-formed sequence. */
bool pol_utf8_decode(const uint8_t *s, size_t n, uint32_t *cp, size_t *len);
/** Bytes of the character at s (n > 0): 1..4; a malformed byte is 1. */
size_t pol_utf8_next(const uint8_t *s, size_t n);
/** Unicode simple case folding of one code point. */
uint32_t pol_fold_cp(uint32_t cp);
/** Bytes pol_fold_utf8 may write for n input bytes (a 2-byte character can
 * fold to a 3-byte one). */
#define POL_FOLD_MAX(n) ((n) + (n) / 2 + 4)
/** Writes the simple case folding of s to out (POL_FOLD_MAX(s.len) bytes);
 * returns the length. Malformed bytes are copied as they are. */
size_t pol_fold_utf8(struct core_cursor s, uint8_t *out);

/* ---- shared helpers (policy_match.c) ---------------------------------- */

static inline uint8_t pol_lower(uint8_t c) { return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c; }

/** Case-folded FNV-1a, the hash of context and condition keys. */
uint32_t pol_hash_icase(struct core_cursor s);

/** Glob over units (PU_STAR/PU_QMARK); icase folds the subject only. */
bool pol_glob(const uint16_t *p, size_t pn, struct core_cursor s, bool icase);

/*
 * Resolves a pattern's variables against ctx into a flat unit array.
 * *units points either into the pattern (no variables), into stack_buf, or
 * into heap (a core_buf the caller frees). *resolved is false when a
 * variable has no value and no default: the comparison then fails.
 */
CORE_RESULT pol_resolve(const struct pol_pattern *pat, const struct policy_ctx *ctx, uint16_t *stack_buf,
                        size_t stack_cap, struct core_buf *heap, const uint16_t **units, size_t *n,
                        bool *resolved);

/** Whole-string match of a pattern (variables resolved). */
CORE_RESULT pol_match_string(const struct pol_pattern *pat, const struct policy_ctx *ctx,
                             struct core_cursor s, bool *match, bool *resolved);
/** ARN match: the first five ':'-separated fields one by one, then the rest. */
CORE_RESULT pol_match_arn(const struct pol_pattern *pat, const struct policy_ctx *ctx, struct core_cursor s,
                          bool *match, bool *resolved);

/**
 * policy_evaluate() for a resource policy in a combined evaluation: boundary
 * tells whether the caller has a permissions boundary, which makes every
 * Deny+NotPrincipal statement cover an IAM user or role session.
 */
CORE_RESULT pol_evaluate(const struct policy *p, const struct policy_ctx *ctx, bool boundary,
                         struct policy_result *out);

/** Condition element of one statement: true when every operator holds. */
CORE_RESULT pol_conditions_hold(const struct pol_stmt *st, const struct policy_ctx *ctx, bool *holds);

/* ---- value parsers shared by compile and eval (policy_values.c) ------- */

bool pol_parse_number(struct core_cursor s, double *out);
bool pol_parse_date(struct core_cursor s, int64_t *ms);
bool pol_parse_ip(struct core_cursor s, bool allow_prefix, struct pol_ip *out);
bool pol_ip_in(const struct pol_ip *net, const struct pol_ip *addr);
/** Decodes standard base64 into out (cap bytes); false when invalid or too long. */
bool pol_base64_decode(struct core_cursor in, uint8_t *out, size_t cap, size_t *outlen);

/* ---- context lookups (policy_ctx.c) ---------------------------------- */

int pol_ctx_lookup(const struct policy_ctx *ctx, struct core_cursor key, uint32_t hash,
                   const struct core_cursor **vals);

#endif
