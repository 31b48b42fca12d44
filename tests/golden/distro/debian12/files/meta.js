{
  "role" : "web",
  "tier" : "front"
}
