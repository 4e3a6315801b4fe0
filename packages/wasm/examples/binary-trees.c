/*
 * binary-trees: the allocator benchmark of the Computer Language Benchmarks Game, written here.
 *
 *     binary-trees [max_depth]        (default 10; at least min_depth + 2 = 6)
 *
 * It builds a "stretch" tree of depth max_depth + 1 and frees it; builds one long-lived tree of
 * depth max_depth; then for each depth d = 4, 6, ..., max_depth builds and frees 2^(max_depth -
 * d + 4) trees of depth d, walking each one (check: its node count). Every node is one malloc of
 * 8 bytes (two pointers on wasm32) and one free: the small churn that pymalloc was made for.
 */
#include <stdio.h>
#include <stdlib.h>

typedef struct node {
  struct node *left;
  struct node *right;
} node;

static node *bottom_up_tree(int depth) {
  node *n = malloc(sizeof(node));
  if (n == NULL) {
    fputs("binary-trees: out of memory\n", stderr);
    exit(1);
  }
  if (depth > 0) {
    n->left = bottom_up_tree(depth - 1);
    n->right = bottom_up_tree(depth - 1);
  } else {
    n->left = n->right = NULL;
  }
  return n;
}

static long item_check(const node *n) {
  return n->left == NULL ? 1 : 1 + item_check(n->left) + item_check(n->right);
}

static void delete_tree(node *n) {
  if (n->left != NULL) {
    delete_tree(n->left);
    delete_tree(n->right);
  }
  free(n);
}

int main(int argc, char **argv) {
  const int min_depth = 4;
  int max_depth = argc > 1 ? atoi(argv[1]) : 10;
  if (max_depth < min_depth + 2) max_depth = min_depth + 2;

  node *stretch = bottom_up_tree(max_depth + 1);
  printf("stretch tree of depth %d\t check: %ld\n", max_depth + 1, item_check(stretch));
  delete_tree(stretch);

  node *long_lived = bottom_up_tree(max_depth);
  for (int depth = min_depth; depth <= max_depth; depth += 2) {
    long iterations = 1L << (max_depth - depth + min_depth);
    long check = 0;
    for (long i = 0; i < iterations; i++) {
      node *tree = bottom_up_tree(depth);
      check += item_check(tree);
      delete_tree(tree);
    }
    printf("%ld\t trees of depth %d\t check: %ld\n", iterations, depth, check);
  }
  printf("long lived tree of depth %d\t check: %ld\n", max_depth, item_check(long_lived));
  delete_tree(long_lived);
  return 0;
}
