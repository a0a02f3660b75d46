/**
 * A user-author pair as one safe integer key: user * 2^24 + author.
 * Supports up to 2^24 (16.7 M) authors and 2^29 users.
 */
const AUTHOR_SPACE = 16777216;

export function pairKey(user: number, author: number): number {
  return user * AUTHOR_SPACE + author;
}

export function pairUser(key: number): number {
  return Math.floor(key / AUTHOR_SPACE);
}

export function pairAuthor(key: number): number {
  return key % AUTHOR_SPACE;
}
