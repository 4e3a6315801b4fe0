import { ErrorCode, isTsmallocError, TsmallocError } from "@tsmalloc/memory";
import { describe, expect, it } from "vitest";

describe("ErrorCode", () => {
  it("has the stable code strings", () => {
    expect(ErrorCode).toEqual({
      InvalidSize: "ERR_TSMALLOC_INVALID_SIZE",
      InvalidAlignment: "ERR_TSMALLOC_INVALID_ALIGNMENT",
      InvalidPointer: "ERR_TSMALLOC_INVALID_POINTER",
      DoubleFree: "ERR_TSMALLOC_DOUBLE_FREE",
      Corruption: "ERR_TSMALLOC_CORRUPTION",
      InvalidOption: "ERR_TSMALLOC_INVALID_OPTION",
      Incompatible: "ERR_TSMALLOC_INCOMPATIBLE",
      OutOfMemory: "ERR_TSMALLOC_OUT_OF_MEMORY",
      WrongThread: "ERR_TSMALLOC_WRONG_THREAD",
      UnknownAllocator: "ERR_TSMALLOC_UNKNOWN_ALLOCATOR",
      NotTracing: "ERR_TSMALLOC_NOT_TRACING",
      ThreadLimit: "ERR_TSMALLOC_THREAD_LIMIT",
    });
  });
});

describe("TsmallocError", () => {
  it("carries code, message, name and address", () => {
    const error = new TsmallocError(ErrorCode.InvalidPointer, "free: 0x10 is not a block", { address: 16 });
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(TsmallocError);
    expect(error.name).toBe("TsmallocError");
    expect(error.code).toBe("ERR_TSMALLOC_INVALID_POINTER");
    expect(error.message).toBe("free: 0x10 is not a block");
    expect(error.address).toBe(16);
    expect(String(error)).toBe("TsmallocError: free: 0x10 is not a block");
    expect(error.stack).toContain("free: 0x10 is not a block");
  });

  it("keeps address 0, which is an address like any other", () => {
    expect(new TsmallocError(ErrorCode.InvalidPointer, "x", { address: 0 }).address).toBe(0);
  });

  it("leaves address and cause undefined without options", () => {
    const error = new TsmallocError(ErrorCode.InvalidSize, "bad size");
    expect(error.address).toBeUndefined();
    expect(error.cause).toBeUndefined();
    expect(Object.hasOwn(error, "cause")).toBe(false);
    expect(Object.hasOwn(new TsmallocError(ErrorCode.InvalidSize, "x", {}), "cause")).toBe(false);
  });

  it("records the cause it is given", () => {
    const cause = new RangeError("could not allocate");
    const error = new TsmallocError(ErrorCode.InvalidOption, "no memory", { cause });
    expect(error.cause).toBe(cause);
    expect(error.address).toBeUndefined();
    const withBoth = new TsmallocError(ErrorCode.Corruption, "broken", { cause: "why", address: 32 });
    expect(withBoth.cause).toBe("why");
    expect(withBoth.address).toBe(32);
  });

  it("can be thrown and caught by code", () => {
    let caught: unknown;
    try {
      throw new TsmallocError(ErrorCode.DoubleFree, "twice");
    } catch (error) {
      caught = error;
    }
    expect(isTsmallocError(caught, ErrorCode.DoubleFree)).toBe(true);
  });
});

describe("isTsmallocError", () => {
  const error = new TsmallocError(ErrorCode.OutOfMemory, "out of memory");

  it("is true for a TsmallocError, with no code or its own code", () => {
    expect(isTsmallocError(error)).toBe(true);
    expect(isTsmallocError(error, ErrorCode.OutOfMemory)).toBe(true);
    expect(isTsmallocError(error, undefined)).toBe(true);
  });

  it("is false for another code", () => {
    expect(isTsmallocError(error, ErrorCode.InvalidSize)).toBe(false);
    expect(isTsmallocError(error, ErrorCode.Corruption)).toBe(false);
  });

  it("is false for anything that is not a TsmallocError, and never throws", () => {
    const lookalike = Object.assign(new Error("out of memory"), { code: ErrorCode.OutOfMemory, name: "TsmallocError" });
    for (const value of [new Error("x"), lookalike, { code: ErrorCode.OutOfMemory }, "ERR_TSMALLOC_OUT_OF_MEMORY", null, undefined, 0, Object.create(null)]) {
      expect(isTsmallocError(value)).toBe(false);
      expect(isTsmallocError(value, ErrorCode.OutOfMemory)).toBe(false);
    }
  });
});
