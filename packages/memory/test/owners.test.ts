import { MAX_REGION_OWNER, RegionOwner, regionOwnerName } from "@tsmalloc/memory";
import { describe, expect, it } from "vitest";

describe("RegionOwner", () => {
  it("has the stable owner values", () => {
    expect(RegionOwner).toEqual({ Memory: 1, Host: 2, Malloc: 3, MallocLarge: 4, Arena: 5, HeapSlots: 6, User: 16 });
    expect(MAX_REGION_OWNER).toBe(63);
  });

  it("names every owner for reports", () => {
    expect(regionOwnerName(RegionOwner.Memory)).toBe("memory");
    expect(regionOwnerName(RegionOwner.Host)).toBe("host");
    expect(regionOwnerName(RegionOwner.Malloc)).toBe("malloc");
    expect(regionOwnerName(RegionOwner.MallocLarge)).toBe("malloc-large");
    expect(regionOwnerName(RegionOwner.Arena)).toBe("arena");
    expect(regionOwnerName(RegionOwner.HeapSlots)).toBe("heap-slots");
    expect(regionOwnerName(RegionOwner.User)).toBe("user-16");
    expect(regionOwnerName(63)).toBe("user-63");
    expect(regionOwnerName(7)).toBe("owner-7");
    expect(regionOwnerName(0)).toBe("owner-0");
  });
});
