// The typical change of `benches/typical/mod.rs`, for the bench and the tests: an AI-assisted
// change of 20 files with CODEOWNERS owners and 3 approvals, touching one service of a 50-node
// topology. Keep the two in step.

export function typicalChange() {
  const areas = [
    ["services/cart/src", "@org/cart"],
    ["services/payments/src", "@org/payments"],
    ["web/src/checkout", "@org/web"],
    ["services/cart/tests", "@org/cart"],
    ["docs/cart", "@org/docs"],
  ];
  const files = [];
  for (let i = 0; i < 20; i++) {
    const [dir, owner] = areas[i % areas.length];
    files.push({ path: `${dir}/file${i}.rs`, status: "modified", added: 12 + i, removed: 3, owners: [owner] });
  }
  const nodes = [];
  for (let i = 0; i < 50; i++) {
    const layer = Math.floor(i / 13);
    const deps =
      layer === 0 ? [] : [`svc-${((i + 1) % 13) + (layer - 1) * 13}`, `svc-${((i + 5) % 13) + (layer - 1) * 13}`];
    nodes.push({ name: `svc-${i}`, tier: 1 + (i % 3), owner: `@org/team${i % 7}`, depends_on: deps });
  }
  return {
    change: {
      author: "alice",
      title: "Speed up checkout",
      ai: { assisted: "yes", tools: ["claude-code"], initiator: "carol" },
      files,
      approvals: [
        { by: "bob", teams: ["@org/cart"] },
        { by: "dave", teams: ["@org/web"] },
        { by: "erin", teams: ["@org/security"] },
      ],
      services: ["svc-3"],
    },
    topology: { nodes },
  };
}
