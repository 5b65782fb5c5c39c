-- wrk script: POST random demo orders (1-5 lines, no reservation) to the decision route.
-- The token comes from the FULCRUM_TOKEN environment variable.
local token = os.getenv("FULCRUM_TOKEN") or ""
math.randomseed(42)
local bodies = {}
for i = 1, 2000 do
  local n, lines = math.random(1, 5), {}
  for k = 1, n do
    lines[k] = string.format('{"sku":"SKU-%05d","qty":%d}', math.random(1, 2000), math.random(1, 3))
  end
  bodies[i] = string.format(
    '{"order_id":"B-%d","destination":{"lat":%.4f,"lon":%.4f},"lines":[%s],"deliver_within_days":%d}',
    i, 30 + math.random() * 15, -120 + math.random() * 45, table.concat(lines, ","), math.random(2, 6))
end
local i = 0
request = function()
  i = i % #bodies + 1
  return wrk.format("POST", "/v1/fulfillment/decisions",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, bodies[i])
end
