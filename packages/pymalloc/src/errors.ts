import { ErrorCode, TsmallocError } from "@tsmalloc/memory";

/** An `ERR_TSMALLOC_INVALID_OPTION` error whose message starts with `Pymalloc: `. */
export function optionError(message: string): TsmallocError {
  return new TsmallocError(ErrorCode.InvalidOption, `Pymalloc: ${message}`);
}
