// Static Web App that serves the chat page. The Free plan is enough: the page calls the function
// app directly (CORS), because a linked backend would buffer NDJSON responses.

@description('Name of the Static Web App.')
param name string

@description('Region of the Static Web App (a Static Web Apps region; content is served from there).')
param location string

@description('Tags; must include azd-service-name so azd deploys the page here.')
param tags object = {}

resource web 'Microsoft.Web/staticSites@2024-11-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: 'Free'
    tier: 'Free'
  }
  properties: {
    provider: 'Custom'
    allowConfigFileUpdates: true
    stagingEnvironmentPolicy: 'Disabled'
  }
}

output name string = web.name
output defaultHostname string = web.properties.defaultHostname
output url string = 'https://${web.properties.defaultHostname}'
