// The admin API on the stats port: sessions, kicks, bans, operator links and reloads, as JSON
// under /admin/, behind admin.allow_ips and the token (docs: README "The admin API").
#pragma once

namespace proxy {

class Hub;
class StatsServer;

// Adds the guard (404 when off, 403, 401, each refusal counted and audited) and the routes.
void add_admin_routes(StatsServer& server, Hub& hub);

}  // namespace proxy
