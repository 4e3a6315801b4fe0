/*
 * json-tree: a small JSON parser (RFC 8259) that builds a tree of values and frees it.
 *
 *     json-tree -                      parse standard input, print it back compact
 *     json-tree [records [rounds]]     make a document of `records` records (default 1000), then
 *                                      parse it, print it back and free the tree `rounds` times
 *                                      (default 1), and print what it found
 *
 * The allocation pattern of a real parser: a node per value, strings copied out of the input,
 * arrays and objects that grow by realloc as members arrive, an output buffer that grows as it
 * is written, and everything freed, depth first, at the end of each round.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { J_NULL, J_FALSE, J_TRUE, J_NUMBER, J_STRING, J_ARRAY, J_OBJECT } kind;

typedef struct value value;
struct value {
  kind kind;
  union {
    double number;
    struct {
      char *chars;
      size_t length;
    } string;
    struct {
      value **items;
      char **keys; /* for objects: one key per item; NULL for arrays */
      size_t *key_lengths;
      size_t count;
      size_t capacity;
    } list;
  } as;
};

/* ---- failing loudly --------------------------------------------------------------------------- */

static void *checked(void *p) {
  if (p == NULL) {
    fputs("json-tree: out of memory\n", stderr);
    exit(1);
  }
  return p;
}

/* ---- a growable byte buffer ------------------------------------------------------------------- */

typedef struct {
  char *bytes;
  size_t length;
  size_t capacity;
} buffer;

static void buffer_reserve(buffer *b, size_t more) {
  if (b->length + more <= b->capacity) return;
  size_t capacity = b->capacity == 0 ? 64 : b->capacity;
  while (capacity < b->length + more) capacity *= 2;
  b->bytes = checked(realloc(b->bytes, capacity));
  b->capacity = capacity;
}

static void buffer_append(buffer *b, const char *bytes, size_t length) {
  buffer_reserve(b, length);
  memcpy(b->bytes + b->length, bytes, length);
  b->length += length;
}

static void buffer_byte(buffer *b, char c) { buffer_append(b, &c, 1); }

/* ---- the parser ------------------------------------------------------------------------------- */

typedef struct {
  const char *text;
  size_t length;
  size_t at;
  const char *error;
} parser;

enum { MAX_DEPTH = 512 };

static value *parse_value(parser *p, int depth);

static void fail(parser *p, const char *why) {
  if (p->error == NULL) p->error = why;
}

static void skip_space(parser *p) {
  while (p->at < p->length) {
    char c = p->text[p->at];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
    p->at++;
  }
}

static value *new_value(kind k) {
  value *v = checked(calloc(1, sizeof(value)));
  v->kind = k;
  return v;
}

static void free_value(value *v) {
  if (v == NULL) return;
  switch (v->kind) {
    case J_STRING:
      free(v->as.string.chars);
      break;
    case J_ARRAY:
    case J_OBJECT:
      for (size_t i = 0; i < v->as.list.count; i++) {
        free_value(v->as.list.items[i]);
        if (v->as.list.keys != NULL) free(v->as.list.keys[i]);
      }
      free(v->as.list.items);
      free(v->as.list.keys);
      free(v->as.list.key_lengths);
      break;
    default:
      break;
  }
  free(v);
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static long read_hex4(parser *p) {
  if (p->at + 4 > p->length) return -1;
  long code = 0;
  for (int i = 0; i < 4; i++) {
    int d = hex_digit(p->text[p->at + i]);
    if (d < 0) return -1;
    code = code * 16 + d;
  }
  p->at += 4;
  return code;
}

static void append_utf8(buffer *b, long code) {
  if (code < 0x80) {
    buffer_byte(b, (char)code);
  } else if (code < 0x800) {
    buffer_byte(b, (char)(0xc0 | (code >> 6)));
    buffer_byte(b, (char)(0x80 | (code & 0x3f)));
  } else if (code < 0x10000) {
    buffer_byte(b, (char)(0xe0 | (code >> 12)));
    buffer_byte(b, (char)(0x80 | ((code >> 6) & 0x3f)));
    buffer_byte(b, (char)(0x80 | (code & 0x3f)));
  } else {
    buffer_byte(b, (char)(0xf0 | (code >> 18)));
    buffer_byte(b, (char)(0x80 | ((code >> 12) & 0x3f)));
    buffer_byte(b, (char)(0x80 | ((code >> 6) & 0x3f)));
    buffer_byte(b, (char)(0x80 | (code & 0x3f)));
  }
}

/* A string's contents, unescaped, into a new block (NUL-terminated); the quote is at p->at. */
static char *parse_string(parser *p, size_t *length) {
  buffer out = {0};
  p->at++; /* the opening quote */
  while (p->error == NULL) {
    if (p->at >= p->length) {
      fail(p, "unterminated string");
      break;
    }
    unsigned char c = (unsigned char)p->text[p->at++];
    if (c == '"') break;
    if (c < 0x20) {
      fail(p, "control character in string");
      break;
    }
    if (c != '\\') {
      buffer_byte(&out, (char)c);
      continue;
    }
    if (p->at >= p->length) {
      fail(p, "unterminated escape");
      break;
    }
    char e = p->text[p->at++];
    switch (e) {
      case '"': buffer_byte(&out, '"'); break;
      case '\\': buffer_byte(&out, '\\'); break;
      case '/': buffer_byte(&out, '/'); break;
      case 'b': buffer_byte(&out, '\b'); break;
      case 'f': buffer_byte(&out, '\f'); break;
      case 'n': buffer_byte(&out, '\n'); break;
      case 'r': buffer_byte(&out, '\r'); break;
      case 't': buffer_byte(&out, '\t'); break;
      case 'u': {
        long code = read_hex4(p);
        if (code >= 0xd800 && code <= 0xdbff) {
          /* a surrogate pair: \uD83D\uDE00 */
          long low = -1;
          if (p->at + 2 <= p->length && p->text[p->at] == '\\' && p->text[p->at + 1] == 'u') {
            p->at += 2;
            low = read_hex4(p);
          }
          if (low < 0xdc00 || low > 0xdfff) {
            fail(p, "unpaired surrogate");
            break;
          }
          code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        } else if (code < 0 || (code >= 0xdc00 && code <= 0xdfff)) {
          fail(p, "bad \\u escape");
          break;
        }
        append_utf8(&out, code);
        break;
      }
      default:
        fail(p, "bad escape");
    }
  }
  if (p->error != NULL) {
    free(out.bytes);
    return NULL;
  }
  *length = out.length;
  buffer_byte(&out, '\0');
  /* give back the buffer's unused end, as a careful parser does */
  return checked(realloc(out.bytes, out.length));
}

static value *parse_number(parser *p) {
  size_t start = p->at;
  if (p->at < p->length && p->text[p->at] == '-') p->at++;
  if (p->at < p->length && p->text[p->at] == '0') {
    p->at++;
  } else if (p->at < p->length && p->text[p->at] >= '1' && p->text[p->at] <= '9') {
    while (p->at < p->length && p->text[p->at] >= '0' && p->text[p->at] <= '9') p->at++;
  } else {
    fail(p, "bad number");
    return NULL;
  }
  if (p->at < p->length && p->text[p->at] == '.') {
    p->at++;
    if (!(p->at < p->length && p->text[p->at] >= '0' && p->text[p->at] <= '9')) {
      fail(p, "bad fraction");
      return NULL;
    }
    while (p->at < p->length && p->text[p->at] >= '0' && p->text[p->at] <= '9') p->at++;
  }
  if (p->at < p->length && (p->text[p->at] == 'e' || p->text[p->at] == 'E')) {
    p->at++;
    if (p->at < p->length && (p->text[p->at] == '+' || p->text[p->at] == '-')) p->at++;
    if (!(p->at < p->length && p->text[p->at] >= '0' && p->text[p->at] <= '9')) {
      fail(p, "bad exponent");
      return NULL;
    }
    while (p->at < p->length && p->text[p->at] >= '0' && p->text[p->at] <= '9') p->at++;
  }
  /* strtod needs a terminated copy: numbers are short, so it lives on the stack */
  char digits[64];
  size_t n = p->at - start;
  if (n >= sizeof digits) {
    fail(p, "number too long");
    return NULL;
  }
  memcpy(digits, p->text + start, n);
  digits[n] = '\0';
  value *v = new_value(J_NUMBER);
  v->as.number = strtod(digits, NULL);
  return v;
}

static void list_push(value *list, value *item, char *key, size_t key_length) {
  if (list->as.list.count == list->as.list.capacity) {
    size_t capacity = list->as.list.capacity == 0 ? 4 : list->as.list.capacity * 2;
    list->as.list.items = checked(realloc(list->as.list.items, capacity * sizeof(value *)));
    if (list->kind == J_OBJECT) {
      list->as.list.keys = checked(realloc(list->as.list.keys, capacity * sizeof(char *)));
      list->as.list.key_lengths = checked(realloc(list->as.list.key_lengths, capacity * sizeof(size_t)));
    }
    list->as.list.capacity = capacity;
  }
  size_t i = list->as.list.count++;
  list->as.list.items[i] = item;
  if (list->kind == J_OBJECT) {
    list->as.list.keys[i] = key;
    list->as.list.key_lengths[i] = key_length;
  }
}

static value *parse_list(parser *p, int depth, kind k) {
  char close = k == J_ARRAY ? ']' : '}';
  value *list = new_value(k);
  p->at++; /* [ or { */
  skip_space(p);
  if (p->at < p->length && p->text[p->at] == close) {
    p->at++;
    return list;
  }
  while (p->error == NULL) {
    char *key = NULL;
    size_t key_length = 0;
    if (k == J_OBJECT) {
      skip_space(p);
      if (!(p->at < p->length && p->text[p->at] == '"')) {
        fail(p, "expected a key");
        break;
      }
      key = parse_string(p, &key_length);
      if (key == NULL) break;
      skip_space(p);
      if (!(p->at < p->length && p->text[p->at] == ':')) {
        free(key);
        fail(p, "expected ':'");
        break;
      }
      p->at++;
    }
    value *item = parse_value(p, depth + 1);
    if (item == NULL) {
      free(key);
      break;
    }
    list_push(list, item, key, key_length);
    skip_space(p);
    if (p->at < p->length && p->text[p->at] == ',') {
      p->at++;
      continue;
    }
    if (p->at < p->length && p->text[p->at] == close) {
      p->at++;
      return list;
    }
    fail(p, k == J_ARRAY ? "expected ',' or ']'" : "expected ',' or '}'");
  }
  free_value(list);
  return NULL;
}

static int literal(parser *p, const char *word) {
  size_t n = strlen(word);
  if (p->at + n <= p->length && memcmp(p->text + p->at, word, n) == 0) {
    p->at += n;
    return 1;
  }
  return 0;
}

static value *parse_value(parser *p, int depth) {
  if (depth > MAX_DEPTH) {
    fail(p, "too deep");
    return NULL;
  }
  skip_space(p);
  if (p->at >= p->length) {
    fail(p, "unexpected end");
    return NULL;
  }
  char c = p->text[p->at];
  if (c == '{') return parse_list(p, depth, J_OBJECT);
  if (c == '[') return parse_list(p, depth, J_ARRAY);
  if (c == '"') {
    size_t length = 0;
    char *chars = parse_string(p, &length);
    if (chars == NULL) return NULL;
    value *v = new_value(J_STRING);
    v->as.string.chars = chars;
    v->as.string.length = length;
    return v;
  }
  if (c == '-' || (c >= '0' && c <= '9')) return parse_number(p);
  if (literal(p, "null")) return new_value(J_NULL);
  if (literal(p, "true")) return new_value(J_TRUE);
  if (literal(p, "false")) return new_value(J_FALSE);
  fail(p, "unexpected character");
  return NULL;
}

/* The whole text as one value; NULL with `*error` and `*offset` set when it is not JSON. */
static value *parse_document(const char *text, size_t length, const char **error, size_t *offset) {
  parser p = {text, length, 0, NULL};
  value *v = parse_value(&p, 0);
  if (v != NULL) {
    skip_space(&p);
    if (p.at != p.length) {
      fail(&p, "text after the value");
      free_value(v);
      v = NULL;
    }
  }
  *error = p.error;
  *offset = p.at;
  return v;
}

/* ---- printing back, compact ------------------------------------------------------------------- */

static void write_string(buffer *b, const char *chars, size_t length) {
  buffer_byte(b, '"');
  for (size_t i = 0; i < length; i++) {
    unsigned char c = (unsigned char)chars[i];
    char escape[8];
    switch (c) {
      case '"': buffer_append(b, "\\\"", 2); break;
      case '\\': buffer_append(b, "\\\\", 2); break;
      case '\n': buffer_append(b, "\\n", 2); break;
      case '\r': buffer_append(b, "\\r", 2); break;
      case '\t': buffer_append(b, "\\t", 2); break;
      default:
        if (c < 0x20) {
          snprintf(escape, sizeof escape, "\\u%04x", c);
          buffer_append(b, escape, 6);
        } else {
          buffer_byte(b, (char)c);
        }
    }
  }
  buffer_byte(b, '"');
}

static void write_value(buffer *b, const value *v) {
  char number[32];
  switch (v->kind) {
    case J_NULL: buffer_append(b, "null", 4); break;
    case J_FALSE: buffer_append(b, "false", 5); break;
    case J_TRUE: buffer_append(b, "true", 4); break;
    case J_NUMBER:
      buffer_append(b, number, (size_t)snprintf(number, sizeof number, "%.17g", v->as.number));
      break;
    case J_STRING: write_string(b, v->as.string.chars, v->as.string.length); break;
    case J_ARRAY:
    case J_OBJECT:
      buffer_byte(b, v->kind == J_ARRAY ? '[' : '{');
      for (size_t i = 0; i < v->as.list.count; i++) {
        if (i > 0) buffer_byte(b, ',');
        if (v->kind == J_OBJECT) {
          write_string(b, v->as.list.keys[i], v->as.list.key_lengths[i]);
          buffer_byte(b, ':');
        }
        write_value(b, v->as.list.items[i]);
      }
      buffer_byte(b, v->kind == J_ARRAY ? ']' : '}');
      break;
  }
}

/* ---- counting ----------------------------------------------------------------------------------- */

typedef struct {
  long values, objects, arrays, strings, numbers;
  int depth;
} census;

static void count(const value *v, census *c, int depth) {
  c->values++;
  if (depth > c->depth) c->depth = depth;
  if (v->kind == J_STRING) c->strings++;
  if (v->kind == J_NUMBER) c->numbers++;
  if (v->kind == J_ARRAY || v->kind == J_OBJECT) {
    if (v->kind == J_ARRAY) c->arrays++;
    else c->objects++;
    for (size_t i = 0; i < v->as.list.count; i++) count(v->as.list.items[i], c, depth + 1);
  }
}

static uint32_t fnv1a(const char *bytes, size_t length) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < length; i++) h = (h ^ (unsigned char)bytes[i]) * 16777619u;
  return h;
}

/* ---- the two modes ------------------------------------------------------------------------------ */

static int from_stdin(void) {
  buffer in = {0};
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0) buffer_append(&in, chunk, n);
  const char *error;
  size_t offset;
  value *v = parse_document(in.bytes == NULL ? "" : in.bytes, in.length, &error, &offset);
  free(in.bytes);
  if (v == NULL) {
    fprintf(stderr, "json-tree: %s at offset %zu\n", error, offset);
    return 1;
  }
  buffer out = {0};
  write_value(&out, v);
  fwrite(out.bytes, 1, out.length, stdout);
  fputc('\n', stdout);
  free(out.bytes);
  free_value(v);
  return 0;
}

/* A document of `records` records, each with strings, numbers, an array and a nested object. */
static buffer make_document(long records) {
  static const char *const words[] = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"};
  buffer doc = {0};
  char line[256];
  buffer_byte(&doc, '[');
  for (long i = 0; i < records; i++) {
    int n = snprintf(line, sizeof line,
                     "%s{\"id\":%ld,\"name\":\"item \\\"%ld\\\"\",\"price\":%ld.%02ld,\"ok\":%s,"
                     "\"tags\":[\"%s\",\"%s\",\"caf\\u00e9\"],\"meta\":{\"rank\":%ld,\"note\":null}}",
                     i == 0 ? "" : ",", i, i, (i * 37) % 1000, i % 100, i % 3 == 0 ? "true" : "false",
                     words[i % 8], words[(i * 5) % 8], records - i);
    buffer_append(&doc, line, (size_t)n);
  }
  buffer_byte(&doc, ']');
  return doc;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "-") == 0) return from_stdin();
  long records = argc > 1 ? atol(argv[1]) : 1000;
  long rounds = argc > 2 ? atol(argv[2]) : 1;
  if (records < 1) records = 1;
  if (rounds < 1) rounds = 1;

  buffer doc = make_document(records);
  census c = {0};
  uint32_t hash = 0;
  size_t printed = 0;
  for (long round = 0; round < rounds; round++) {
    const char *error;
    size_t offset;
    value *v = parse_document(doc.bytes, doc.length, &error, &offset);
    if (v == NULL) {
      fprintf(stderr, "json-tree: %s at offset %zu\n", error, offset);
      return 1;
    }
    census this_round = {0};
    count(v, &this_round, 1);
    buffer out = {0};
    write_value(&out, v);
    c = this_round;
    hash = fnv1a(out.bytes, out.length);
    printed = out.length;
    free(out.bytes);
    free_value(v);
  }
  printf("document: %zu bytes, %ld records, parsed %ld times\n", doc.length, records, rounds);
  printf("values: %ld (objects %ld, arrays %ld, strings %ld, numbers %ld), depth %d\n", c.values, c.objects, c.arrays,
         c.strings, c.numbers, c.depth);
  printf("printed back: %zu bytes, fnv-1a %08x\n", printed, (unsigned)hash);
  free(doc.bytes);
  return 0;
}
