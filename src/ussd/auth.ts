/**
 * Who may call a USSD endpoint: each aggregator has a shared secret (in a header, or as the last
 * path segment) and optionally an IP allow-list. Checked before the body is even parsed, so an
 * unauthenticated request never touches a session.
 */
import { hash, timingSafeEqual } from "node:crypto";
import { isIP, SocketAddress } from "node:net";
import type { NextFunction, Request, Response } from "express";

export interface AggregatorAuth {
  secret: string;
  /** "header" (default) reads `header`; "path" reads the route's :secret segment. */
  secretIn?: "header" | "path";
  header?: string;
  /** Exact addresses (IPv4 or IPv6); empty or absent means any address. */
  ipAllowList?: string[];
}

export const DEFAULT_SECRET_HEADER = "x-fingate-secret";
const MIN_SECRET_CHARS = 16;

// One-shot hash: no Hash object per request (this runs on every hop).
const sha256 = (text: string) => hash("sha256", text, "buffer");

/** Compares digests so neither length nor content leaks through timing. */
export function secretMatches(given: unknown, expected: string): boolean {
  return digestMatches(given, sha256(expected));
}

/** secretMatches against the expected secret's digest, computed once per endpoint rather than per request. */
function digestMatches(given: unknown, expectedDigest: Buffer): boolean {
  if (typeof given !== "string" || given.length === 0 || given.length > 512) return false;
  return timingSafeEqual(sha256(given), expectedDigest);
}

function normalizeIp(ip: string | undefined): string {
  if (!ip) return "";
  return ip.startsWith("::ffff:") && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}

/**
 * A configured address as the socket will report it: IPv6 written in full or in upper case
 * ("0:0:0:0:0:ffff:7f00:1", "2001:DB8::1") never matched the socket's compressed lower-case form
 * before 2026-11-30, and locked the aggregator out. Once, at start-up.
 */
function configuredIp(ip: string): string {
  return normalizeIp(isIP(ip) === 6 ? new SocketAddress({ address: ip, family: "ipv6" }).address : ip);
}

export function checkAggregatorAuth(auth: AggregatorAuth): void {
  if (auth.secret.length < MIN_SECRET_CHARS) throw new Error(`an aggregator secret must have at least ${MIN_SECRET_CHARS} characters`);
  const list: unknown = auth.ipAllowList;
  // A range ("10.0.0.0/8") or a host name is matched against nothing: refused rather than served as a silent lock-out.
  if (list !== undefined && (!Array.isArray(list) || list.some((ip) => typeof ip !== "string" || isIP(ip) === 0))) {
    throw new Error("an aggregator's ipAllowList must list IPv4 or IPv6 addresses (no ranges or names)");
  }
}

/** The refusal an aggregator's request gets from its address and presented secret, or null when it may pass. */
export type AuthCheck = (remoteAddress: string | undefined, givenSecret: unknown) => 401 | 403 | null;

export function authCheck(auth: AggregatorAuth): AuthCheck {
  checkAggregatorAuth(auth);
  const allow = new Set((auth.ipAllowList ?? []).map(configuredIp));
  const expected = sha256(auth.secret);
  return (remoteAddress, given) => {
    if (allow.size > 0 && !allow.has(normalizeIp(remoteAddress))) return 403;
    return digestMatches(given, expected) ? null : 401;
  };
}

/** The secret's header, lower-cased, for aggregators that present it in a header. */
export function secretHeader(auth: AggregatorAuth): string {
  return (auth.header ?? DEFAULT_SECRET_HEADER).toLowerCase();
}

export function authenticate(auth: AggregatorAuth) {
  const check = authCheck(auth);
  const header = secretHeader(auth);
  return (req: Request, res: Response, next: NextFunction) => {
    const refused = check(req.socket.remoteAddress, auth.secretIn === "path" ? req.params.secret : req.get(header));
    if (refused === 403) {
      res.status(403).type("text/plain").send("forbidden");
      return;
    }
    if (refused === 401) {
      res.status(401).type("text/plain").send("unauthorized");
      return;
    }
    next();
  };
}
