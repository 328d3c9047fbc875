// Azure OpenAI account with a chat and an embedding deployment. Local (key) authentication is
// disabled: callers need a Microsoft Entra token and the Cognitive Services OpenAI User role.

@description('Name of the Azure OpenAI account; also its custom subdomain (needed for Entra ID auth).')
param name string

@description('Region of the account; the models below must be offered there.')
param location string

@description('Tags for the account.')
param tags object = {}

@description('Chat model deployment: deployment name, model name and version, SKU and capacity (thousands of tokens per minute).')
param chatDeployment object

@description('Embedding model deployment: deployment name, model name and version, SKU and capacity.')
param embeddingDeployment object

resource account 'Microsoft.CognitiveServices/accounts@2024-10-01' = {
  // checkov:skip=CKV_AZURE_134: the Flex Consumption app has no virtual network, so it calls the public endpoint; access needs an Entra token (disableLocalAuth true) and a role assignment.
  name: name
  location: location
  tags: tags
  kind: 'OpenAI'
  sku: {
    name: 'S0'
  }
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    customSubDomainName: name
    disableLocalAuth: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
    }
  }
}

resource chat 'Microsoft.CognitiveServices/accounts/deployments@2024-10-01' = {
  parent: account
  name: chatDeployment.name
  sku: {
    name: chatDeployment.sku
    capacity: chatDeployment.capacity
  }
  properties: {
    model: {
      format: 'OpenAI'
      name: chatDeployment.model
      version: chatDeployment.version
    }
    versionUpgradeOption: 'OnceNewDefaultVersionAvailable'
  }
}

// Deployments on one account must be created one at a time.
resource embedding 'Microsoft.CognitiveServices/accounts/deployments@2024-10-01' = {
  parent: account
  name: embeddingDeployment.name
  sku: {
    name: embeddingDeployment.sku
    capacity: embeddingDeployment.capacity
  }
  properties: {
    model: {
      format: 'OpenAI'
      name: embeddingDeployment.model
      version: embeddingDeployment.version
    }
    versionUpgradeOption: 'OnceNewDefaultVersionAvailable'
  }
  dependsOn: [
    chat
  ]
}

output name string = account.name
output id string = account.id
output endpoint string = account.properties.endpoint
output chatDeploymentName string = chat.name
output embeddingDeploymentName string = embedding.name
