// The user-assigned managed identity the function app runs as. Every data-plane call the app makes
// (deployment package, host storage, Azure OpenAI, Azure AI Search, Application Insights) is
// authenticated with this identity; no key is issued or stored anywhere.

@description('Name of the managed identity.')
param name string

@description('Region of the managed identity.')
param location string

@description('Tags for the managed identity.')
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
