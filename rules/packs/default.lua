-- fulcrum's default rule pack. Active on the demo data set; a store built by
-- `fulcrum import` starts with no active rule set. Change the settings below, run
-- `fulcrum rules test rules/packs/default.lua`, then push and activate.

local DELAY_REROUTE_DAYS = 2    -- reroute when a carrier expects to be this many days late
local WALK_IN_RESERVE = 3       -- units a store keeps for walk-in customers
local WALK_IN_PENALTY = 4.0     -- cost added to a store shipment that dips into them
local LARGE_ORDER_UNITS = 20    -- orders this large prefer a distribution centre
local LARGE_ORDER_PENALTY = 6.0 -- cost added to non-DC nodes for a large order

local function has_hazmat(order)
  for _, line in ipairs(order.lines) do
    if line.hazmat then return true end
  end
  return false
end

rules = {
  {
    name = "no_hazmat_from_stores",
    before_sourcing = function(order, ctx)
      if not has_hazmat(order) then return end
      for _, id in ipairs(ctx.stores) do
        ctx:exclude_node(id, "hazmat never ships from a store")
      end
    end,
  },
  {
    name = "protect_walk_in_stock",
    before_sourcing = function(order, ctx)
      for _, id in ipairs(ctx.stores) do
        for _, line in ipairs(order.lines) do
          local atp = ctx:atp(id, line.sku)
          if atp and atp > 0 and atp - line.qty < WALK_IN_RESERVE then
            ctx:penalize_node(id, WALK_IN_PENALTY, "keeps " .. WALK_IN_RESERVE .. " units for walk-ins")
            break
          end
        end
      end
    end,
  },
  {
    name = "large_orders_prefer_dc",
    before_sourcing = function(order, ctx)
      if order.units < LARGE_ORDER_UNITS then return end
      for id, node in pairs(ctx.nodes) do
        if node.type ~= "dc" then
          ctx:penalize_node(id, LARGE_ORDER_PENALTY, "large orders ship from a DC")
        end
      end
    end,
  },
  {
    name = "reroute_on_carrier_delay",
    on_event = function(event, ctx)
      local late = event.data.delay_days
      if event.type == "shipment.delayed" and (late or 0) > DELAY_REROUTE_DAYS then
        local who = event.carrier and ("carrier " .. event.carrier) or "the carrier"
        ctx:reroute{exclude_carrier = event.carrier, reason = who .. " late by " .. late .. " days"}
        ctx:notify("email", "delay_rerouted", {order_id = event.order_id, delay_days = late})
      end
    end,
  },
  {
    name = "notify_failed_delivery",
    on_event = function(event, ctx)
      if event.type == "shipment.failed_delivery" then
        ctx:notify("email", "failed_delivery", {order_id = event.order_id})
        ctx:discount("shipping_refund", 5.0, "delivery failed")
      end
    end,
  },
}

-- the network the tests below run on
test_nodes = {
  {id = "DC-A", type = "dc", region = "east"},
  {id = "ST-A", type = "store", region = "east"},
  {id = "ST-B", type = "store", region = "west"},
}

tests = {
  {
    name = "hazmat order: every store excluded",
    order = {order_id = "T-1", lines = {{sku = "SKU-H", qty = 1, hazmat = true}}},
    expect = {excluded = {"ST-A", "ST-B"}},
  },
  {
    name = "plain order: no store excluded",
    order = {order_id = "T-2", lines = {{sku = "SKU-1", qty = 1}}},
    expect = {excluded = {}},
  },
  {
    name = "walk-in stock protected",
    order = {order_id = "T-3", lines = {{sku = "SKU-1", qty = 2}}},
    stock = {["ST-A"] = {["SKU-1"] = 4}, ["ST-B"] = {["SKU-1"] = 40}},
    expect = {penalties = {["ST-A"] = 4.0, ["ST-B"] = 0}},
  },
  {
    name = "large order prefers the DC",
    order = {order_id = "T-4", lines = {{sku = "SKU-1", qty = 25}}},
    stock = {["ST-A"] = {["SKU-1"] = 100}, ["ST-B"] = {["SKU-1"] = 100}},
    expect = {penalties = {["ST-A"] = 6.0, ["ST-B"] = 6.0, ["DC-A"] = 0}},
  },
  {
    name = "a carrier three days late: reroute and tell the customer",
    event = {type = "shipment.delayed", order_id = "T-5", carrier = "UPX", data = {delay_days = 3}},
    expect = {reroute = true, notify = {"email"}},
  },
  {
    name = "a carrier one day late: nothing",
    event = {type = "shipment.delayed", order_id = "T-6", carrier = "UPX", data = {delay_days = 1}},
    expect = {reroute = false},
  },
  {
    name = "failed delivery: notify and refund shipping",
    event = {type = "shipment.failed_delivery", order_id = "T-7"},
    expect = {notify = {"email"}, discount = true},
  },
}
