// Azure OpenAI, as a Microsoft Foundry resource (kind AIServices), with a chat and an embedding
// deployment. Local (key) authentication is disabled: callers need a Microsoft Entra token and the
// Cognitive Services OpenAI User role.
//
// Why AIServices and not OpenAI: Azure is upgrading Azure OpenAI resources to Foundry resources in
// place, and the kind of an existing account cannot be changed back, so a template that declares
// kind OpenAI would fail on its next `azd provision` against an upgraded account. A Foundry
// resource serves the same OpenAI models, the same v1 endpoint (<name>.openai.azure.com/openai/v1/)
// and the same roles, and is where new models and features arrive first.

@description('Name of the account; also its custom subdomain (needed for Entra ID auth).')
param name string

@description('Region of the account; the models below must be offered there.')
param location string

@description('Tags for the account.')
param tags object = {}

@description('Chat model deployment: deployment name, model name, version (empty: the model\'s default version), SKU and capacity (thousands of tokens per minute).')
param chatDeployment object

@description('Embedding model deployment: deployment name, model name, version (empty: the default), SKU and capacity.')
param embeddingDeployment object

@description('What Azure does when a deployed model version is superseded or retires (see main.bicep).')
@allowed([
  'OnceCurrentVersionExpired'
  'OnceNewDefaultVersionAvailable'
  'NoAutoUpgrade'
])
param versionUpgradeOption string = 'OnceCurrentVersionExpired'

// A model without a version gets the model's default version from Azure.
var chatModel = union({
  format: 'OpenAI'
  name: chatDeployment.model
}, empty(chatDeployment.version) ? {} : {
  version: chatDeployment.version
})

var embeddingModel = union({
  format: 'OpenAI'
  name: embeddingDeployment.model
}, empty(embeddingDeployment.version) ? {} : {
  version: embeddingDeployment.version
})

resource account 'Microsoft.CognitiveServices/accounts@2025-06-01' = {
  // checkov:skip=CKV_AZURE_134: the Flex Consumption app has no virtual network, so it calls the public endpoint; access needs an Entra token (disableLocalAuth true) and a role assignment.
  name: name
  location: location
  tags: tags
  kind: 'AIServices'
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

resource chat 'Microsoft.CognitiveServices/accounts/deployments@2025-06-01' = {
  parent: account
  name: chatDeployment.name
  sku: {
    name: chatDeployment.sku
    capacity: chatDeployment.capacity
  }
  properties: {
    model: chatModel
    versionUpgradeOption: versionUpgradeOption
  }
}

// Deployments on one account must be created one at a time.
resource embedding 'Microsoft.CognitiveServices/accounts/deployments@2025-06-01' = {
  parent: account
  name: embeddingDeployment.name
  sku: {
    name: embeddingDeployment.sku
    capacity: embeddingDeployment.capacity
  }
  properties: {
    model: embeddingModel
    versionUpgradeOption: versionUpgradeOption
  }
  dependsOn: [
    chat
  ]
}

output name string = account.name
output id string = account.id
// The OpenAI endpoint of the account (https://<name>.openai.azure.com/), which the app's v1 client uses.
output endpoint string = account.properties.endpoints['OpenAI Language Model Instance API']
output chatDeploymentName string = chat.name
output embeddingDeploymentName string = embedding.name
