-- wrk script for `make bench`'s checkout row: each connection is one signed-in shopper
-- going through the whole checkout, over and over (bench/harness.py runs wrk with one
-- connection per thread, so a thread's state is its connection's):
--   1. POST /cart/add/           a product (the next of the list), quantity 1   -> 302
--   2. POST /checkout/           the shipping address                          -> 302
--   3. GET  /checkout/review/    the review, with its idempotency key and fingerprint -> 200
--   4. POST /checkout/review/    place the order (the stock check)             -> 302
-- A step that answers anything else starts the cycle again from step 1.
--
-- BENCH_REQUESTS  one line per product id
-- BENCH_SESSIONS  one line per connection: "COOKIE<TAB>CSRF TOKEN" of a signed-in shopper
-- BENCH_ADDRESS   the address form's fields, url-encoded
-- BENCH_LIB       bench/wrk.lua, whose setup() and done() count and report as for any row

dofile(os.getenv("BENCH_LIB"))

local function encode(text)
  return (text:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

local function unescape(html)
  return (html:gsub("&quot;", '"'):gsub("&#x27;", "'"):gsub("&lt;", "<"):gsub("&gt;", ">")
    :gsub("&amp;", "&"))
end

function init(args)
  products = {}
  for line in io.lines(os.getenv("BENCH_REQUESTS")) do
    table.insert(products, line)
  end
  local sessions = {}
  for line in io.lines(os.getenv("BENCH_SESSIONS")) do
    local cookie, token = line:match("^([^\t]*)\t(.*)$")
    table.insert(sessions, { cookie = cookie, token = token })
  end
  local mine = sessions[(id - 1) % #sessions + 1]
  cookie, token = mine.cookie, encode(mine.token)
  address = os.getenv("BENCH_ADDRESS")
  index = id * 7
  step = 1
  statuses = {}
  sent = id == 1 and -1 or 0
end

local function post(path, body)
  return wrk.format("POST", path, {
    Cookie = cookie, ["Content-Type"] = "application/x-www-form-urlencoded",
  }, body .. "&csrfmiddlewaretoken=" .. token)
end

function request()
  sent = sent + 1
  if step == 1 then
    index = index % #products + 1
    return post("/cart/add/", "product=" .. products[index] .. "&quantity=1")
  elseif step == 2 then
    return post("/checkout/", address)
  elseif step == 3 then
    return wrk.format("GET", "/checkout/review/", { Cookie = cookie })
  end
  return post("/checkout/review/", "idempotency_key=" .. encode(key) .. "&fingerprint="
    .. encode(fingerprint) .. "&test_payment=on")
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  local expected = step == 3 and 200 or 302
  if status ~= expected then
    step = 1
    return
  end
  if step == 3 then
    key = body:match('name="idempotency_key" value="([^"]*)"')
    fingerprint = body:match('name="fingerprint" value="([^"]*)"')
    if not key or not fingerprint then
      step = 1
      return
    end
    fingerprint = unescape(fingerprint)
  end
  step = step % 4 + 1
end
