-- Argo CD resource health for subdomain.kominfo.go.id/SubdomainRequest.
-- Add to argocd-cm as resource.customizations.health.subdomain.kominfo.go.id_SubdomainRequest.
local hs = {status = "Progressing", message = "Waiting for the operator"}
if obj.status == nil then
  return hs
end
if obj.metadata.generation ~= nil and obj.status.observedGeneration ~= nil and
   obj.status.observedGeneration < obj.metadata.generation then
  hs.message = "Waiting for the operator to observe the latest spec"
  return hs
end
local ready = nil
if obj.status.conditions ~= nil then
  for _, c in ipairs(obj.status.conditions) do
    if c.type == "Ready" then
      ready = c
    end
  end
end
local phase = obj.status.phase or ""
local detail = ""
if ready ~= nil and ready.message ~= nil then
  detail = ": " .. ready.message
end
if phase == "Ready" then
  hs.status = "Healthy"
elseif phase == "Pending" then
  -- waiting for a person to approve: not a failure, not progress
  hs.status = "Suspended"
elseif phase == "Conflict" or phase == "Failed" or phase == "Rejected" then
  hs.status = "Degraded"
else
  hs.status = "Progressing"
end
hs.message = phase .. detail
return hs
