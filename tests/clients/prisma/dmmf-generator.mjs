#!/usr/bin/env node
// A Prisma generator for the tests: writes the schema as Prisma itself reads it (the DMMF
// datamodel: models, fields with their column names, types, native types, defaults and
// relations, and the indexes) to <output>/datamodel.json, so that
// tests/e2e/test_prisma_client.py can compare docs/schema.prisma with the DDL of the tables
// convtrack cut over. The test adds this generator to its copy of the schema only.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import helper from "@prisma/generator-helper";

helper.generatorHandler({
  onManifest: () => ({ prettyName: "DMMF datamodel (convtrack tests)", requiresGenerators: [] }),
  onGenerate: async (options) => {
    const folder = options.generator.output.value;
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, "datamodel.json"), JSON.stringify(options.dmmf.datamodel, null, 1));
  },
});
