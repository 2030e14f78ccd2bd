// PostGraphile 5 for bench/province.py: the schema `pgbench_eligibility` (one SQL function,
// `eligibility(id_numbers text[])`, made by the bench) as GraphQL on 127.0.0.1, configured as a
// production deployment would be: the Amber preset (its list field named without a suffix), no GraphiQL, no watch mode, no explain, no
// GraphQL over GET, errors masked (NODE_ENV=production), a pool of POOL connections.
//
//   node server.mjs   (env: DATABASE_URL, PORT, POOL)
//
// Prints "listening on 127.0.0.1:PORT" once it serves; SIGINT or SIGTERM stop it.
import { createServer } from "node:http";
import { makePgService } from "postgraphile/adaptors/pg";
import { grafserv } from "postgraphile/grafserv/node";
import { postgraphile } from "postgraphile";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";

// The function returns a list (`@behavior -connection +list` on it), named as the gateway's
// field is: `eligibility`, not `eligibilityList` (Amber's name for a list beside a connection).
const ListFieldsKeepTheirNamePlugin = {
  name: "ListFieldsKeepTheirNamePlugin",
  version: "1.0.0",
  inflection: {
    replace: {
      customQueryListField(_previous, _options, details) {
        return this.camelCase(this.customQueryField(details));
      },
    },
  },
};

const port = Number(process.env.PORT);
const preset = {
  extends: [PostGraphileAmberPreset],
  plugins: [ListFieldsKeepTheirNamePlugin],
  pgServices: [
    makePgService({
      connectionString: process.env.DATABASE_URL,
      schemas: ["pgbench_eligibility"],
      poolConfig: { max: Number(process.env.POOL || 8) },
    }),
  ],
  grafserv: {
    port,
    host: "127.0.0.1",
    graphqlPath: "/graphql",
    graphiql: false,
    graphiqlOnGraphQLGET: false,
    graphqlOverGET: false,
    watch: false,
    websockets: false,
  },
  grafast: { explain: false },
};

const pgl = postgraphile(preset);
const serv = pgl.createServ(grafserv);
const server = createServer();
server.keepAliveTimeout = 65_000;
serv.addTo(server).then(
  () => {
    server.listen(port, "127.0.0.1", () => console.log(`listening on 127.0.0.1:${port}`));
  },
  (error) => {
    console.error(error);
    process.exit(1);
  },
);

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    server.close();
    Promise.resolve(pgl.release()).finally(() => process.exit(0));
  });
}
