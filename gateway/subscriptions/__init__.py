"""The `warningNotices` subscription over graphql-transport-ws at /graphql.

- `hub`: one poller per gateway process reads new warning notices from the database (written by
  any process) and fans them out to this process's subscribers; a subscription that resumes
  after a notice id first reads what it missed.
- `protocol`: the graphql-transport-ws protocol over a Starlette websocket, each connection
  authenticated by the access token in its `connection_init` payload and executed against the
  client's own schema view.
"""
